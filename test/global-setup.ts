// Placeholder replaced by the control-plane harness (issue 2): starts etcd + kube-apiserver once.
export default function setup(): void {}

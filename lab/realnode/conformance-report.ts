/**
 * Writes the results of a netpol e2e run (lab/realnode/netpol-e2e.sh) into docs/conformance.md.
 * Only the text between the two markers is replaced, so the hand-written analysis around it stays.
 *
 *   node --import tsx lab/realnode/conformance-report.ts <report.json> <conformance.md> <command>
 */
import { execFileSync } from 'node:child_process';
import { writeFileAtomicSync, readFileIfPresent } from '../../common/src/files.js';
import { readFileSync } from 'node:fs';
import { parseGinkgoReport, renderResults, spliceResults } from './conformance.js';

function versionOf(command: string, args: string[]): string {
  try {
    return execFileSync(command, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).split('\n')[0]?.trim() ?? '';
  } catch {
    return 'unknown';
  }
}

function main(argv: string[]): void {
  const [reportPath, docPath, command] = argv;
  if (reportPath === undefined || docPath === undefined || command === undefined) {
    throw new Error('usage: conformance-report.ts <report.json> <conformance.md> <command that reproduces the run>');
  }
  const run = parseGinkgoReport(JSON.parse(readFileSync(reportPath, 'utf8')) as unknown);
  const network = process.env.WEIR_CLUSTER_NETWORK ?? 'bridge';
  const versions = {
    'netpol e2e suite, kubelet, kube-apiserver, kube-proxy': 'k8s.io/kubernetes v1.34.4',
    containerd: versionOf('containerd', ['--version']),
    runc: versionOf('runc', ['--version']),
    Multus: `v4.2.3 (thin plugin), clusterNetwork ${network} + host-local + weir`,
    kernel: versionOf('uname', ['-r']),
    // The source the images were built from (images/build.sh records it), not the checkout now.
    'Weir (agent and webhook images)': process.env.WEIR_IMAGES_SOURCE ?? 'unknown',
  };
  const doc = readFileIfPresent(docPath) ?? '# Conformance\n';
  const setup = network === 'bridge' ? undefined : `WEIR_REALNODE_NETWORK=${network} make realnode-up`;
  writeFileAtomicSync(docPath, spliceResults(doc, renderResults(run, versions, command, setup)), 0o644);
}

main(process.argv.slice(2));

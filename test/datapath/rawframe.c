/*
 * rawframe: what a pod with CAP_NET_RAW can do, for test/datapath/hostile-netns.test.ts.
 *
 *   rawframe send IFNAME SLL_PROTOCOL HEXFRAME    one frame from an AF_PACKET socket whose
 *                                                  skb->protocol is SLL_PROTOCOL (e.g. 0x0806),
 *                                                  whatever ethertype the frame itself carries;
 *                                                  prints "sent", or "dropped" when the egress
 *                                                  path refused it (ENOBUFS)
 *   rawframe send-bypass IFNAME SLL_PROTOCOL HEXFRAME   the same with PACKET_QDISC_BYPASS set, so
 *                                                  the frame skips the qdisc layer and tc egress
 *   rawframe count IFNAME MS HEXMARKER            prints "ready", then after MS ms the number of
 *                                                  frames seen on IFNAME that contain HEXMARKER
 * Exit 0 on success; errors on stderr with exit 1.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <net/if.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static int unhex(const char *hex, unsigned char *out, size_t max) {
	size_t n = strlen(hex);
	if (n % 2 != 0 || n / 2 > max) return -1;
	for (size_t i = 0; i < n / 2; i++) {
		unsigned int b;
		if (sscanf(hex + 2 * i, "%2x", &b) != 1) return -1;
		out[i] = (unsigned char)b;
	}
	return (int)(n / 2);
}

static long long now_ms(void) {
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int open_bound(const char *ifname, int protocol) {
	int fd = socket(AF_PACKET, SOCK_RAW, htons(protocol));
	if (fd < 0) { perror("socket(AF_PACKET)"); return -1; }
	struct sockaddr_ll sll = { .sll_family = AF_PACKET, .sll_protocol = htons(protocol), .sll_ifindex = (int)if_nametoindex(ifname) };
	if (sll.sll_ifindex == 0 || bind(fd, (struct sockaddr *)&sll, sizeof sll) != 0) { perror(ifname); close(fd); return -1; }
	return fd;
}

static int send_frame(const char *ifname, const char *proto, const char *hex, int bypass) {
	unsigned char frame[2048];
	int len = unhex(hex, frame, sizeof frame);
	int protocol = (int)strtol(proto, NULL, 0);
	if (len < ETH_HLEN) { fprintf(stderr, "rawframe: bad frame\n"); return 1; }
	int fd = open_bound(ifname, protocol);
	if (fd < 0) return 1;
	int one = 1;
	if (bypass && setsockopt(fd, SOL_PACKET, PACKET_QDISC_BYPASS, &one, sizeof one) != 0) { perror("PACKET_QDISC_BYPASS"); return 1; }
	struct sockaddr_ll to = { .sll_family = AF_PACKET, .sll_protocol = htons(protocol), .sll_ifindex = (int)if_nametoindex(ifname), .sll_halen = ETH_ALEN };
	memcpy(to.sll_addr, frame, ETH_ALEN);
	/* A frame that tc egress drops comes back as ENOBUFS (NET_XMIT_DROP): sent, and dropped. */
	if (sendto(fd, frame, (size_t)len, 0, (struct sockaddr *)&to, sizeof to) != len) {
		if (errno != ENOBUFS) { perror("sendto"); return 1; }
		printf("dropped\n");
	} else {
		printf("sent\n");
	}
	close(fd);
	return 0;
}

static int count_frames(const char *ifname, int ms, const char *hex) {
	unsigned char marker[256], buf[4096];
	int mlen = unhex(hex, marker, sizeof marker);
	if (mlen <= 0) { fprintf(stderr, "rawframe: bad marker\n"); return 1; }
	int fd = open_bound(ifname, ETH_P_ALL);
	if (fd < 0) return 1;
	printf("ready\n");
	fflush(stdout);
	int seen = 0;
	long long deadline = now_ms() + ms;
	for (long long left = ms; left > 0; left = deadline - now_ms()) {
		struct pollfd p = { .fd = fd, .events = POLLIN };
		if (poll(&p, 1, (int)left) <= 0) continue;
		ssize_t n = recv(fd, buf, sizeof buf, 0);
		if (n > 0 && memmem(buf, (size_t)n, marker, (size_t)mlen) != NULL) seen++;
	}
	printf("%d\n", seen);
	return 0;
}

int main(int argc, char **argv) {
	if (argc == 5 && strcmp(argv[1], "send") == 0) return send_frame(argv[2], argv[3], argv[4], 0);
	if (argc == 5 && strcmp(argv[1], "send-bypass") == 0) return send_frame(argv[2], argv[3], argv[4], 1);
	if (argc == 5 && strcmp(argv[1], "count") == 0) return count_frames(argv[2], atoi(argv[3]), argv[4]);
	fprintf(stderr, "usage: rawframe send|send-bypass IFNAME SLL_PROTOCOL HEXFRAME | rawframe count IFNAME MS HEXMARKER\n");
	return 2;
}

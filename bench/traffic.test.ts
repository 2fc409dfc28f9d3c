import { describe, expect, it } from 'vitest';
import { serverIntervals } from './traffic.js';

const TWO_STREAMS = `Accepted connection from 127.0.0.1, port 55718
[ ID] Interval           Transfer     Bitrate
[  5]   0.00-1.00   sec   742 MBytes  6.22 Gbits/sec                  
[  8]   0.00-1.00   sec   693 MBytes  5.81 Gbits/sec                  
[SUM]   0.00-1.00   sec  1.40 GBytes  12.0 Gbits/sec                  
- - - - - - - - - - - - - - - - - - - - - - - - -
[  5]   1.00-2.00   sec   518 MBytes  4.34 Gbits/sec                  
[  8]   1.00-2.00   sec   496 MBytes  4.16 Gbits/sec                  
[SUM]   1.00-2.00   sec  1014 MBytes  8.51 Gbits/sec                  
- - - - - - - - - - - - - - - - - - - - - - - - -
[ ID] Interval           Transfer     Bitrate
[  5]   0.00-2.01   sec  1.23 GBytes  5.27 Gbits/sec                  receiver
[SUM]   0.00-2.01   sec  2.39 GBytes  10.3 Gbits/sec                  receiver
`;

describe('serverIntervals (iperf3 server text report)', () => {
  it('takes the [SUM] line per interval when there are several streams, and no end-of-test line', () => {
    expect(serverIntervals(TWO_STREAMS)).toEqual([12.0e9, 8.51e9]);
  });
  it('one stream: its own lines, any unit', () => {
    expect(serverIntervals('[  5]   0.00-1.00   sec  1.14 MBytes  9.56 Mbits/sec   \n[  5]   1.00-2.00   sec  117 KBytes  958 Kbits/sec\n')).toEqual([9.56e6, 958e3]);
  });
  it('no intervals → empty', () => expect(serverIntervals('iperf3: error')).toEqual([]));
});

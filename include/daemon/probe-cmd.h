/* probe-cmd: `udp-canary probe`, the shell around core/probe-client: options, the
 * key, one UDP socket per trial (a fresh NAT mapping each, so a canary
 * running on this machine is untouched), the event loop, progress on a
 * terminal and the verdict. */
#pragma once

/* Exit status when no probe at all was answered: the server does not
 * answer probes (an original udp-canary.py, or --probe-max-pending 0), or
 * nothing gets through. */
#define PROBE_EXIT_NO_ANSWER 3

/* Runs `udp-canary probe` (argv[0] is "probe"). Returns the exit status:
 * 0 a verdict, 1 the system refused something, 2 bad input,
 * PROBE_EXIT_NO_ANSWER. */
int probe_main(int argc, char **argv);

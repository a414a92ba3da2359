/* report-cmd: the `udp-canary report` command: reads log files (ours or the
 * original's) or the journal, and writes the report as text, JSON or SVG. */
#pragma once

/* argv[0] is "report". Returns the exit status. */
int report_main(int argc, char **argv);

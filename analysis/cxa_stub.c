/* Temporary: commands not written yet. */
#include "cxa.h"
int cxa_cmd_collectives(int argc, char **argv) { (void)argc; (void)argv; cxa_error(NULL, "collectives: not implemented yet"); return CXA_EXIT_USAGE; }
int cxa_cmd_perfetto(int argc, char **argv) { (void)argc; (void)argv; cxa_error(NULL, "export-perfetto: not implemented yet"); return CXA_EXIT_USAGE; }
int cxa_cmd_stragglers(int argc, char **argv) { (void)argc; (void)argv; cxa_error(NULL, "stragglers: not implemented yet"); return CXA_EXIT_USAGE; }

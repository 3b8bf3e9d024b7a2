/* Placeholder: replaced by the libyaml-backed implementation. */
#include "cx_yaml.h"

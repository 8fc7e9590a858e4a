#include "sparseinfer/engine.h"

// Status moved to common/status.h; this header keeps older includes building.
#ifndef COTENANT_STORAGE_STATUS_H_
#define COTENANT_STORAGE_STATUS_H_
#include "common/status.h"
#endif  // COTENANT_STORAGE_STATUS_H_

// Criteria: declarations shared by criteria_parse.cc and criteria_eval.cc. Internal to
// storage/.

#ifndef COTENANT_STORAGE_CRITERIA_INTERNAL_H_
#define COTENANT_STORAGE_CRITERIA_INTERNAL_H_

#include <cstddef>
#include <string>

namespace cotenant::storage::criteria {

// The prefix of every parse and bind error: "criteria: at column N: ".
std::string At(size_t column);

}  // namespace cotenant::storage::criteria

#endif  // COTENANT_STORAGE_CRITERIA_INTERNAL_H_

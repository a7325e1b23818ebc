// audit-verify --extract: a verified bundle's content written out as plain files.
#pragma once

#include <map>
#include <string>
#include <vector>

namespace audit::evidence {

// Refuses (UsageError) a dir that exists and is not an empty directory: checked before anything
// is verified, and again by extract_files.
void check_extract_dir(const std::string& dir);

// Writes the verified content of a bundle into dir (created when missing): each file its
// statement names (subject_names, in order; files holds their checked bytes), created new
// (O_EXCL, no link followed) under a directory opened without following links, fsynced. A name
// that is not a plain file name is a VerifyError; a file not held in memory a UsageError (nothing
// written then).
void extract_files(const std::string& dir, const std::vector<std::string>& subject_names,
                   const std::map<std::string, std::string>& files);

}  // namespace audit::evidence

//! Argument parsing shared by modules: Ansible's type coercions, aliases and
//! "Unsupported parameters" errors.

//! Build plan -> text: the POSIX sh driver script and its Dockerfiles. (To be written.)

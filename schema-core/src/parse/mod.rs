//! The shared `syn` parser: struct items -> schema model. Used by the derive and the build script.

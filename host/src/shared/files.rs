//! Names of files in the data folder that one process writes and the other reads, so neither
//! has to import the other for them.

/// The module report's file in the data folder: the server writes it, `mudhost modules` reads
/// it through the portal's control socket.
pub const MODULE_REPORT_FILE: &str = "modules.txt";

use thiserror::Error;

/// Why a file could not be read. Messages name the problem in terms a user can act on.
#[derive(Debug, Error, PartialEq, Eq)]
pub enum FormatError {
    #[error("not a PLY file (it does not start with \"ply\")")]
    NotPly,
    #[error("unsupported PLY: {0}")]
    UnsupportedPly(String),
    #[error("malformed PLY header: {0}")]
    BadPlyHeader(String),
    #[error("the file is truncated: {0}")]
    Truncated(String),
    #[error("not a SOG file: {0}")]
    NotSog(String),
    #[error("malformed SOG: {0}")]
    BadSog(String),
    #[error("malformed ZIP: {0}")]
    BadZip(String),
    #[error("image {name}: {message}")]
    BadImage { name: String, message: String },
    #[error("too large: {0}")]
    TooLarge(String),
}

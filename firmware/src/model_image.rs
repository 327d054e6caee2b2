//! The model file, embedded in flash at build time.
//!
//! build.rs copies the file named by `CRF_MODEL` (default
//! `models/default.crfm`) to `OUT_DIR/model.crfm`; it is checked at boot by
//! `decoder::Model::from_bytes`, never here.

include!(concat!(env!("OUT_DIR"), "/model_len.rs"));

/// Name of the embedded model file (without its directory), for the log.
pub const FILE_NAME: &str = env!("CRF_MODEL_FILE_NAME");

/// Bytes aligned to 4: the decoder reads the model byte-wise, but an aligned
/// image keeps its tensors at the offsets the file gives them.
#[repr(C, align(4))]
struct AlignedTo4<Bytes: ?Sized>(Bytes);

/// The model file. Its symbol name (containing `MODEL_IMAGE`) and size let
/// `cargo xtask` split the image's flash into code and model.
static MODEL_IMAGE: AlignedTo4<[u8; MODEL_LEN]> = AlignedTo4(*include_bytes!(concat!(env!("OUT_DIR"), "/model.crfm")));

/// The embedded model file's bytes.
pub fn bytes() -> &'static [u8] {
    &MODEL_IMAGE.0
}

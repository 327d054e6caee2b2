//! The user dictionary, embedded in flash at build time when `CRF_USER_DICT` names a word list.
//!
//! build.rs compiles the list with the decoder's own builder into `OUT_DIR/user_dict.crfd` ("CRFd",
//! checked at boot by `decoder::Dictionary::from_bytes`); without `CRF_USER_DICT` the image is empty
//! and no dictionary is used.

include!(concat!(env!("OUT_DIR"), "/user_dict_len.rs"));

/// Bytes aligned to 4, like the model image.
#[repr(C, align(4))]
struct AlignedTo4<Bytes: ?Sized>(Bytes);

static USER_DICT_IMAGE: AlignedTo4<[u8; USER_DICT_LEN]> =
    AlignedTo4(*include_bytes!(concat!(env!("OUT_DIR"), "/user_dict.crfd")));

/// The embedded dictionary file, if the image has one.
pub fn bytes() -> Option<&'static [u8]> {
    let bytes: &'static [u8] = &USER_DICT_IMAGE.0;
    (!bytes.is_empty()).then_some(bytes)
}

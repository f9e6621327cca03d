//! The multipart body of a bid submission, streamed from disk.

use std::path::PathBuf;

use reqwest::Body;
use reqwest::multipart::{Form, Part};
use tokio_util::io::ReaderStream;

use super::ClientError;
use crate::seal::{SEGMENT_LEN, SIGNATURE_LEN};

/// A sealed bid ready to send: small parts in memory, document ciphertext
/// streams as files (already encrypted, so their hashes are in the envelope).
#[derive(Debug, Clone)]
pub struct BidUpload {
    /// The exact signed envelope bytes.
    pub envelope: Vec<u8>,
    /// ECDSA `r ‖ s` over `envelope`.
    pub signature: [u8; SIGNATURE_LEN],
    /// The form ciphertext.
    pub form: Vec<u8>,
    /// Document ciphertext stream files, in document index order.
    pub documents: Vec<PathBuf>,
}

impl BidUpload {
    /// Builds the form: `envelope`, `signature`, `form`, then one `document`
    /// part per document. Documents are read lazily, one segment-sized
    /// chunk at a time, so memory stays constant whatever their size.
    pub(super) async fn into_form(self) -> Result<Form, ClientError> {
        let octets = "application/octet-stream";
        let mut form = Form::new()
            .part("envelope", Part::bytes(self.envelope).mime_str("application/json")?)
            .part("signature", Part::bytes(self.signature.to_vec()).mime_str(octets)?)
            .part("form", Part::bytes(self.form).mime_str(octets)?);
        for path in self.documents {
            let file = tokio::fs::File::open(&path).await?;
            // A known length lets reqwest send a Content-Length for the whole
            // body, so the server can refuse an oversized bid up front.
            let length = file.metadata().await?.len();
            let body = Body::wrap_stream(ReaderStream::with_capacity(file, SEGMENT_LEN));
            form = form.part("document", Part::stream_with_length(body, length).mime_str(octets)?);
        }
        Ok(form)
    }
}

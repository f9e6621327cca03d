//! The video stream staff attach to a tender's public room: an HTTPS URL
//! played in a `<video>` element (HLS or MP4) or shown as a sandboxed
//! `<iframe>` from the buyer's streaming service.

use serde::{Deserialize, Serialize};

use crate::domain::DomainError;

/// Longest accepted stream URL.
pub const MAX_STREAM_URL: usize = 2_000;

/// How the room shows the stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum StreamKind {
    /// A media URL (HLS `.m3u8`, MP4, WebM) for a `<video>` element.
    Video,
    /// A player page of a streaming service, shown in a sandboxed `<iframe>`.
    Embed,
}

/// A validated stream: only `https` URLs with a host and no credentials.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Stream {
    /// The URL, normalised.
    pub url: String,
    /// Video element or iframe.
    pub kind: StreamKind,
}

impl Stream {
    /// Parses and checks a URL for the room; `field` names it in errors.
    pub fn parse(url: &str, kind: StreamKind) -> Result<Stream, DomainError> {
        const FIELD: &str = "url";
        if url.len() > MAX_STREAM_URL {
            return Err(DomainError::invalid(FIELD, format!("must be at most {MAX_STREAM_URL} characters")));
        }
        let parsed = url::Url::parse(url.trim())
            .map_err(|e| DomainError::invalid(FIELD, format!("is not a valid URL ({e})")))?;
        if parsed.scheme() != "https" {
            return Err(DomainError::invalid(
                FIELD,
                "must be an https:// URL (viewers' browsers refuse mixed content)",
            ));
        }
        if parsed.host_str().is_none_or(str::is_empty) {
            return Err(DomainError::invalid(FIELD, "must name a host"));
        }
        // A password in a public URL would be published to every viewer.
        if !parsed.username().is_empty() || parsed.password().is_some() {
            return Err(DomainError::invalid(FIELD, "must not contain a user name or password"));
        }
        Ok(Stream { url: parsed.to_string(), kind })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_https_and_normalises() {
        let s = Stream::parse(" https://Video.Example.org/live/room.m3u8 ", StreamKind::Video).unwrap();
        assert_eq!(s.url, "https://video.example.org/live/room.m3u8");
        assert!(Stream::parse("https://player.example.com/embed/42?autoplay=1", StreamKind::Embed).is_ok());
    }

    #[test]
    fn refuses_everything_else() {
        for bad in [
            "http://video.example.org/a.mp4",
            "javascript:alert(1)",
            "data:text/html,hi",
            "https://user:pw@video.example.org/a.mp4",
            "https://user@video.example.org/a.mp4",
            "not a url",
            "",
            "file:///etc/passwd",
        ] {
            let e = Stream::parse(bad, StreamKind::Video).unwrap_err();
            assert!(matches!(e, DomainError::Invalid { ref field, .. } if field == "url"), "{bad}: {e}");
        }
        let long = format!("https://example.org/{}", "a".repeat(MAX_STREAM_URL));
        assert!(Stream::parse(&long, StreamKind::Video).is_err());
    }
}

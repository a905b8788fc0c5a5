//! Content blocks a tool returns instead of a value: text, images, audio and embedded
//! resources (`warden:tool/content`).
//!
//! A function whose WIT result is `content`, `list<content>`, or a `result` with one of them
//! as its `ok` type answers the client with these blocks, in order, and has no
//! `outputSchema`. Use the type in your world with
//! `use warden:tool/content@0.1.0.{content};`.
//!
//! The host checks every block: image and audio MIME types against its allowlists
//! (`image/png`, `image/jpeg`, `image/gif`, `image/webp`; `audio/wav`, `audio/mpeg`,
//! `audio/ogg`, ...), an embedded resource's URI (an absolute URI) and MIME type (`text/*` or
//! `application/json` for text; the image and audio types, `application/octet-stream` or
//! `application/pdf` for bytes), and the whole result's size against
//! `server.max_output_bytes`. Text is redacted like any output.

pub use crate::bindings::warden::tool::content::{Body, Content, Embedded, Media};

impl Content {
    /// A text block.
    pub fn text(text: impl Into<String>) -> Self {
        Content::Text(text.into())
    }

    /// An image block, e.g. `Content::image(png_bytes, "image/png")`.
    pub fn image(data: impl Into<Vec<u8>>, mime_type: impl Into<String>) -> Self {
        Content::Image(Media {
            data: data.into(),
            mime_type: mime_type.into(),
        })
    }

    /// An audio block, e.g. `Content::audio(wav_bytes, "audio/wav")`.
    pub fn audio(data: impl Into<Vec<u8>>, mime_type: impl Into<String>) -> Self {
        Content::Audio(Media {
            data: data.into(),
            mime_type: mime_type.into(),
        })
    }

    /// An embedded resource holding text, e.g.
    /// `Content::embedded_text("notes://todo.md", "text/markdown", "# Todo")`.
    pub fn embedded_text(
        uri: impl Into<String>,
        mime_type: impl Into<String>,
        text: impl Into<String>,
    ) -> Self {
        Content::Resource(Embedded {
            uri: uri.into(),
            mime_type: mime_type.into(),
            body: Body::Text(text.into()),
        })
    }

    /// An embedded resource holding bytes.
    pub fn embedded_blob(
        uri: impl Into<String>,
        mime_type: impl Into<String>,
        data: impl Into<Vec<u8>>,
    ) -> Self {
        Content::Resource(Embedded {
            uri: uri.into(),
            mime_type: mime_type.into(),
            body: Body::Blob(data.into()),
        })
    }
}

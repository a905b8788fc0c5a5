//! `notes`: the Markdown files (`*.md`) below `/notes` as `notes://{path}` resources, and a
//! `search` tool over them.
//!
//! Grants it needs, in the component's manifest entry: a read-only directory at `/notes`,
//! `dirs = [{ host = "./examples/notes", guest = "/notes", access = "read-only" }]`, and the
//! namespace `resources = ["notes://*"]`. Optional: `env = { PAGE_SIZE = "50" }`, how many
//! notes one `resources/list` page holds. Nothing else: no hosts, no secrets.

use std::fs;

use crate::exports::warden::tool::resources::{
    Body, Contents, Guest as Resources, Listed, Page, ReadError, Template,
};
use crate::exports::warden_example::notes::notes::{Guest, Hit};
use warden_sdk::resources::{paginate, strip_template};

warden_sdk::tool!({ world: "notes-server", export: Notes });

/// The `notes-server` world's implementation.
struct Notes;

/// Where the operator grants the notes directory.
const ROOT: &str = "/notes";

/// The template of every note's URI.
const TEMPLATE: &str = "notes://{path}";

/// Notes per `resources/list` page unless `PAGE_SIZE` says otherwise.
const DEFAULT_PAGE_SIZE: usize = 50;

/// The most lines `search` returns.
const MAX_HITS: usize = 200;

/// Longer lines are cut in `search` results.
const MAX_LINE_CHARS: usize = 500;

/// Notes over this size are neither listed nor read.
const MAX_NOTE_BYTES: u64 = 1024 * 1024;

impl Resources for Notes {
    fn list_resources(cursor: Option<String>) -> Result<Page, String> {
        let notes = notes()?;
        let page_size = std::env::var("PAGE_SIZE")
            .ok()
            .and_then(|size| size.parse().ok())
            .unwrap_or(DEFAULT_PAGE_SIZE);
        let (page, next_cursor) = paginate(&notes, cursor.as_deref(), page_size)?;
        let resources = page
            .iter()
            .map(|(path, size)| Listed {
                uri: format!("notes://{path}"),
                name: path.rsplit('/').next().unwrap_or(path).to_string(),
                title: fs::read_to_string(format!("{ROOT}/{path}"))
                    .ok()
                    .and_then(|text| heading(&text)),
                description: None,
                mime_type: Some("text/markdown".into()),
                size: Some(*size),
            })
            .collect();
        Ok(Page {
            resources,
            next_cursor,
        })
    }

    fn resource_templates() -> Vec<Template> {
        vec![Template {
            uri_template: TEMPLATE.into(),
            name: "note".into(),
            title: Some("Note".into()),
            description: Some(
                "A Markdown note, by its path below the notes directory (e.g. notes://welcome.md)."
                    .into(),
            ),
            mime_type: Some("text/markdown".into()),
        }]
    }

    fn read_resource(uri: String) -> Result<Vec<Contents>, ReadError> {
        let path = strip_template(TEMPLATE, &uri).ok_or(ReadError::NotFound)?;
        if !is_note_path(path) {
            return Err(ReadError::NotFound);
        }
        let full = format!("{ROOT}/{path}");
        let metadata = fs::symlink_metadata(&full).map_err(|_| ReadError::NotFound)?;
        if !metadata.is_file() {
            return Err(ReadError::NotFound);
        }
        if metadata.len() > MAX_NOTE_BYTES {
            return Err(ReadError::Failed(format!(
                "{uri} is {} bytes; notes over {MAX_NOTE_BYTES} bytes are not served",
                metadata.len()
            )));
        }
        let text = fs::read_to_string(&full)
            .map_err(|e| ReadError::Failed(format!("cannot read {uri}: {e}")))?;
        Ok(vec![Contents {
            uri,
            mime_type: Some("text/markdown".into()),
            body: Body::Text(text),
        }])
    }
}

impl Guest for Notes {
    fn search(text: String) -> Vec<Hit> {
        let needle = text.to_lowercase();
        let mut hits = Vec::new();
        for (path, _) in notes().unwrap_or_default() {
            let Ok(content) = fs::read_to_string(format!("{ROOT}/{path}")) else {
                continue;
            };
            for (index, line) in content.lines().enumerate() {
                if hits.len() == MAX_HITS {
                    return hits;
                }
                if line.to_lowercase().contains(&needle) {
                    hits.push(Hit {
                        uri: format!("notes://{path}"),
                        line: u32::try_from(index + 1).unwrap_or(u32::MAX),
                        text: cut(line),
                    });
                }
            }
        }
        hits
    }
}

/// Every note below [`ROOT`]: its path relative to the root, and its size; sorted by path.
/// Symbolic links are not followed.
fn notes() -> Result<Vec<(String, u64)>, String> {
    let mut found = Vec::new();
    let mut pending = vec![String::new()];
    while let Some(dir) = pending.pop() {
        let full = if dir.is_empty() {
            ROOT.to_string()
        } else {
            format!("{ROOT}/{dir}")
        };
        let entries = fs::read_dir(&full).map_err(|e| format!("cannot list {full}: {e}"))?;
        for entry in entries.flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            let path = if dir.is_empty() {
                name.clone()
            } else {
                format!("{dir}/{name}")
            };
            let Ok(metadata) = entry.metadata() else {
                continue;
            };
            if metadata.is_dir() {
                pending.push(path);
            } else if metadata.is_file()
                && is_note_path(&path)
                && metadata.len() <= MAX_NOTE_BYTES
            {
                found.push((path, metadata.len()));
            }
        }
    }
    found.sort();
    Ok(found)
}

/// A relative path of a Markdown file, without `.`, `..` or empty segments.
fn is_note_path(path: &str) -> bool {
    path.ends_with(".md")
        && path
            .split('/')
            .all(|segment| !segment.is_empty() && segment != "." && segment != "..")
}

/// The text of the first `# ` heading.
fn heading(text: &str) -> Option<String> {
    text.lines()
        .find_map(|line| line.strip_prefix("# "))
        .map(|title| title.trim().to_string())
}

/// `line`, cut at [`MAX_LINE_CHARS`] characters.
fn cut(line: &str) -> String {
    match line.char_indices().nth(MAX_LINE_CHARS) {
        Some((end, _)) => format!("{}…", &line[..end]),
        None => line.to_string(),
    }
}

//! `files`: list, read, search and write files in the directories the operator granted.
//!
//! Exports the interface `fs` with four tools: `list` (a directory's entries), `read` (a UTF-8
//! text file, refused over a size cap), `search` (lines containing a text, in files matched by
//! a glob) and `write` (create or replace a file).
//!
//! Grants it needs, in the component's manifest entry: `dirs`, for example
//! `dirs = [{ host = "./data", guest = "/data", access = "read-only" }]`; `write` needs
//! `access = "read-write"`. Nothing else: no hosts, no secrets, no environment.

use std::fs::{self, File};
use std::io::Read;

use crate::exports::warden_example::files::fs::{Entry, Guest, Hit, Kind};
use crate::glob::Glob;

mod glob;

warden_sdk::tool!({ world: "files", export: Files });

/// The `files` world's implementation.
struct Files;

/// The largest file `read` reads when the caller gives no `max-bytes`.
const DEFAULT_READ_BYTES: u32 = 64 * 1024;

/// The largest `max-bytes` `read` accepts.
const MAX_READ_BYTES: u32 = 1024 * 1024;

/// Files over this size are skipped by `search`.
const MAX_SEARCH_FILE_BYTES: u64 = 1024 * 1024;

/// The most lines `search` returns.
const MAX_HITS: usize = 1000;

/// Longer lines are cut in `search` results.
const MAX_LINE_CHARS: usize = 500;

impl Guest for Files {
    fn list(path: String) -> Result<Vec<Entry>, String> {
        let mut entries = Vec::new();
        for entry in fs::read_dir(&path).map_err(|e| io_error(&path, &e))? {
            let entry = entry.map_err(|e| io_error(&path, &e))?;
            let name = entry.file_name().to_string_lossy().into_owned();
            // `DirEntry::metadata` does not follow symbolic links.
            let metadata = entry
                .metadata()
                .map_err(|e| io_error(&join(&path, &name), &e))?;
            let file_type = metadata.file_type();
            let kind = if file_type.is_symlink() {
                Kind::Symlink
            } else if file_type.is_dir() {
                Kind::Directory
            } else if file_type.is_file() {
                Kind::File
            } else {
                Kind::Other
            };
            entries.push(Entry {
                name,
                kind,
                size: metadata.len(),
            });
        }
        entries.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(entries)
    }

    fn read(path: String, max_bytes: Option<u32>) -> Result<String, String> {
        let limit = max_bytes.unwrap_or(DEFAULT_READ_BYTES);
        if limit > MAX_READ_BYTES {
            return Err(format!(
                "max-bytes is {limit}, over the largest allowed value of {MAX_READ_BYTES}"
            ));
        }
        let too_large = |size: u64| {
            let hint = if limit < MAX_READ_BYTES {
                format!("; pass a larger max-bytes (at most {MAX_READ_BYTES})")
            } else {
                String::new()
            };
            format!("{path}: the file has {size} bytes, over the limit of {limit}{hint}")
        };
        let file = File::open(&path).map_err(|e| io_error(&path, &e))?;
        let metadata = file.metadata().map_err(|e| io_error(&path, &e))?;
        if metadata.is_dir() {
            return Err(format!("{path}: is a directory (use `list`)"));
        }
        if metadata.len() > u64::from(limit) {
            return Err(too_large(metadata.len()));
        }
        // The size can change between the check and the read: never read past the limit.
        let mut bytes = Vec::new();
        file.take(u64::from(limit) + 1)
            .read_to_end(&mut bytes)
            .map_err(|e| io_error(&path, &e))?;
        if bytes.len() > widen(limit) {
            return Err(too_large(bytes.len() as u64));
        }
        String::from_utf8(bytes).map_err(|_| format!("{path}: not UTF-8 text"))
    }

    fn search(root: String, glob: String, text: String) -> Result<Vec<Hit>, String> {
        if text.is_empty() {
            return Err("text is empty: give the text to look for".to_owned());
        }
        let matcher = Glob::new(&glob).map_err(|e| format!("glob `{glob}`: {e}"))?;
        let mut files = Vec::new();
        walk(&root, "", &matcher, &mut files)?;
        let mut hits = Vec::new();
        for relative in files {
            let path = join(&root, &relative);
            let Some(content) = searchable_text(&path) else {
                continue;
            };
            for (index, line) in content.lines().enumerate() {
                if !line.contains(&text) {
                    continue;
                }
                if hits.len() == MAX_HITS {
                    return Err(format!(
                        "more than {MAX_HITS} lines contain the text: narrow the glob or the text"
                    ));
                }
                hits.push(Hit {
                    path: path.clone(),
                    line: u32::try_from(index + 1).unwrap_or(u32::MAX),
                    text: cut_line(line),
                });
            }
        }
        Ok(hits)
    }

    fn write(path: String, content: String) -> Result<u64, String> {
        fs::write(&path, &content).map_err(|e| io_error(&path, &e))?;
        Ok(content.len() as u64)
    }
}

/// Collects, in name order, the paths (relative to `root`, `/`-separated) of the regular files
/// below `root/relative` that `matcher` matches. Symbolic links are not followed.
fn walk(root: &str, relative: &str, matcher: &Glob, files: &mut Vec<String>) -> Result<(), String> {
    let dir = join(root, relative);
    let mut entries = Vec::new();
    for entry in fs::read_dir(&dir).map_err(|e| io_error(&dir, &e))? {
        let entry = entry.map_err(|e| io_error(&dir, &e))?;
        let file_type = entry.file_type().map_err(|e| io_error(&dir, &e))?;
        entries.push((entry.file_name().to_string_lossy().into_owned(), file_type));
    }
    entries.sort_by(|a, b| a.0.cmp(&b.0));
    for (name, file_type) in entries {
        let path = join(relative, &name);
        if file_type.is_dir() {
            walk(root, &path, matcher, files)?;
        } else if file_type.is_file() && matcher.is_match(&path) {
            files.push(path);
        }
    }
    Ok(())
}

/// The file's text, or `None` if it is over [`MAX_SEARCH_FILE_BYTES`], unreadable or not UTF-8.
fn searchable_text(path: &str) -> Option<String> {
    let file = File::open(path).ok()?;
    let mut bytes = Vec::new();
    file.take(MAX_SEARCH_FILE_BYTES + 1)
        .read_to_end(&mut bytes)
        .ok()?;
    if bytes.len() as u64 > MAX_SEARCH_FILE_BYTES {
        return None;
    }
    String::from_utf8(bytes).ok()
}

/// `line` cut to [`MAX_LINE_CHARS`] characters, ending in "…" when cut.
fn cut_line(line: &str) -> String {
    match line.char_indices().nth(MAX_LINE_CHARS) {
        Some((end, _)) => format!("{}…", &line[..end]),
        None => line.to_owned(),
    }
}

/// `base` and `name` joined with one `/`; `base` alone when `name` is empty, and `name` alone
/// when `base` is.
fn join(base: &str, name: &str) -> String {
    match (base, name) {
        (base, "") => base.to_owned(),
        ("", name) => name.to_owned(),
        (base, name) if base.ends_with('/') => format!("{base}{name}"),
        (base, name) => format!("{base}/{name}"),
    }
}

/// `path: <the I/O error>`, e.g. `/data/x: No such file or directory (os error 44)`.
fn io_error(path: &str, error: &std::io::Error) -> String {
    format!("{path}: {error}")
}

/// A `u32` as a `usize` (wasm32 and 64-bit hosts: lossless).
fn widen(n: u32) -> usize {
    usize::try_from(n).unwrap_or(usize::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn join_puts_one_slash_between_parts() {
        assert_eq!(join("/data", "a.md"), "/data/a.md");
        assert_eq!(join("/data/", "a.md"), "/data/a.md");
        assert_eq!(join("/", "a.md"), "/a.md");
        assert_eq!(join("", "docs"), "docs");
        assert_eq!(join("/data", ""), "/data");
    }

    #[test]
    fn long_lines_are_cut_at_a_character_boundary() {
        assert_eq!(cut_line("short"), "short");
        let long = "é".repeat(MAX_LINE_CHARS + 5);
        let cut = cut_line(&long);
        assert_eq!(cut.chars().count(), MAX_LINE_CHARS + 1);
        assert!(cut.ends_with('…'));
        assert_eq!(cut_line(&"x".repeat(MAX_LINE_CHARS)).len(), MAX_LINE_CHARS);
    }

    /// `search`, `read`, `list` and `write` on a real directory (the host's file system).
    #[test]
    fn tools_work_on_a_directory_tree() {
        let dir = std::env::temp_dir().join(format!("warden-files-test-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(dir.join("docs/deep")).unwrap();
        let root = dir.to_str().unwrap().to_owned();
        let written = Files::write(join(&root, "a.md"), "alpha\nneedle one\n".to_owned());
        assert_eq!(written, Ok(17));
        fs::write(dir.join("docs/deep/b.md"), "x\ny\nthe needle\n").unwrap();
        fs::write(dir.join("docs/c.txt"), "needle, but not markdown").unwrap();
        fs::write(dir.join("binary.md"), [0xff, 0xfe, b'n']).unwrap();

        let hits = Files::search(root.clone(), "**/*.md".to_owned(), "needle".to_owned()).unwrap();
        let found: Vec<(String, u32, String)> = hits
            .into_iter()
            .map(|hit| (hit.path, hit.line, hit.text))
            .collect();
        assert_eq!(
            found,
            [
                (join(&root, "a.md"), 2, "needle one".to_owned()),
                (join(&root, "docs/deep/b.md"), 3, "the needle".to_owned()),
            ]
        );

        let names: Vec<(String, bool)> = Files::list(root.clone())
            .unwrap()
            .into_iter()
            .map(|entry| (entry.name, matches!(entry.kind, Kind::Directory)))
            .collect();
        assert_eq!(
            names,
            [
                ("a.md".to_owned(), false),
                ("binary.md".to_owned(), false),
                ("docs".to_owned(), true)
            ]
        );

        assert_eq!(
            Files::read(join(&root, "a.md"), None),
            Ok("alpha\nneedle one\n".to_owned())
        );
        let error = Files::read(join(&root, "a.md"), Some(4)).unwrap_err();
        assert!(
            error.contains("the file has 17 bytes, over the limit of 4"),
            "{error}"
        );
        let error = Files::read(join(&root, "binary.md"), None).unwrap_err();
        assert!(error.ends_with("not UTF-8 text"), "{error}");
        let error = Files::read(join(&root, "a.md"), Some(MAX_READ_BYTES + 1)).unwrap_err();
        assert!(error.contains("over the largest allowed value"), "{error}");
        let error = Files::read(join(&root, "missing"), None).unwrap_err();
        assert!(error.contains("No such file or directory"), "{error}");
        fs::remove_dir_all(&dir).unwrap();
    }
}

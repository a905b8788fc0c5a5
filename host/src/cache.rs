//! The compiled-component cache: a component compiled once is kept, serialized, in a private
//! folder, keyed by its digest and the engine (wasmtime version and configuration), so that a
//! restart loads it without compiling.
//!
//! Deserializing compiled code is `unsafe` in wasmtime: the bytes become machine code. The
//! folder is therefore created `0700` and refused when others may write to it, and each
//! artifact's sha256 is kept beside it and checked, over the very bytes deserialized, before
//! they are used; an artifact that does not match is compiled again (and logged).

use std::hash::{Hash, Hasher};
use std::io::Write;
use std::os::unix::fs::{DirBuilderExt, PermissionsExt};
use std::path::{Path, PathBuf};

use wasmtime::Engine;
use wasmtime::component::Component;

use crate::digest::Sha256Digest;

/// Where compiled components are kept.
#[derive(Debug)]
pub struct ArtifactCache {
    dir: PathBuf,
    /// Names the engine's version and configuration in every key.
    engine: String,
}

/// Why the cache folder cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum CacheError {
    /// The folder cannot be created or read.
    #[error("cannot use the cache folder {}: {source}", dir.display())]
    Io {
        /// The folder.
        dir: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// Others may write to the folder, so its artifacts cannot be trusted.
    #[error(
        "the cache folder {} is writable by others (mode {mode:o}): compiled code from it could be anyone's; `chmod 700` it or choose another --cache-dir",
        dir.display()
    )]
    Unsafe {
        /// The folder.
        dir: PathBuf,
        /// Its permission bits.
        mode: u32,
    },
}

/// Whether a component came from the cache.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Source {
    /// Deserialized from a verified artifact.
    Cached,
    /// Compiled now (and stored for next time).
    Compiled,
}

impl ArtifactCache {
    /// The cache at `dir` for components compiled by `engine`; creates `dir` (mode 0700).
    ///
    /// # Errors
    /// The folder cannot be created, or others may write to it.
    pub fn open(dir: &Path, engine: &Engine) -> Result<Self, CacheError> {
        let io = |source| CacheError::Io {
            dir: dir.to_path_buf(),
            source,
        };
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(dir)
            .map_err(io)?;
        let mode = std::fs::metadata(dir).map_err(io)?.permissions().mode() & 0o777;
        if mode & 0o022 != 0 {
            return Err(CacheError::Unsafe {
                dir: dir.to_path_buf(),
                mode,
            });
        }
        // The compatibility hash covers wasmtime's version and every setting that changes
        // the code; SipHash with its fixed keys makes it a stable name.
        let mut hasher = std::hash::DefaultHasher::new();
        engine.precompile_compatibility_hash().hash(&mut hasher);
        Ok(ArtifactCache {
            dir: dir.to_path_buf(),
            engine: format!("{:016x}", hasher.finish()),
        })
    }

    /// The user's cache folder for Warden: `$XDG_CACHE_HOME/warden/components`, else
    /// `$HOME/.cache/warden/components`.
    pub fn default_dir() -> Option<PathBuf> {
        let base = std::env::var_os("XDG_CACHE_HOME")
            .filter(|dir| Path::new(dir).is_absolute())
            .map(PathBuf::from)
            .or_else(|| std::env::var_os("HOME").map(|home| Path::new(&home).join(".cache")))?;
        Some(base.join("warden").join("components"))
    }

    /// The component `bytes` (whose digest is `digest`), compiled by `engine`: from a
    /// verified artifact when there is one, else compiled now and stored.
    ///
    /// # Errors
    /// The bytes do not compile.
    // The workspace denies `unsafe`; deserializing a verified artifact is its one use.
    #[allow(unsafe_code)]
    pub fn load(
        &self,
        engine: &Engine,
        digest: &Sha256Digest,
        bytes: &[u8],
    ) -> wasmtime::Result<(Component, Source)> {
        let artifact = self.dir.join(format!("{digest}-{}.cwasm", self.engine));
        let recorded = artifact.with_extension("cwasm.sha256");
        if let Ok(serialized) = std::fs::read(&artifact) {
            let expected = std::fs::read_to_string(&recorded).unwrap_or_default();
            if expected.trim() == Sha256Digest::of(&serialized).to_string() {
                // SAFETY: the bytes are the ones Warden serialized into its own 0700 folder,
                // and their sha256 was just checked against the one written with them; a
                // version or configuration mismatch is refused by wasmtime itself.
                match unsafe { Component::deserialize(engine, &serialized) } {
                    Ok(component) => return Ok((component, Source::Cached)),
                    Err(error) => tracing::warn!(
                        artifact = %artifact.display(),
                        error = %error,
                        "the cached component cannot be used: compiling it again"
                    ),
                }
            } else {
                tracing::warn!(
                    artifact = %artifact.display(),
                    "the cached component does not match its recorded sha256: compiling it again"
                );
            }
        }
        let component = Component::from_binary(engine, bytes)?;
        if let Err(error) = self.store(&artifact, &recorded, &component) {
            tracing::warn!(
                artifact = %artifact.display(),
                error = %error,
                "cannot store the compiled component in the cache"
            );
        }
        Ok((component, Source::Compiled))
    }

    /// Writes the artifact and its sha256, each to a temporary file renamed into place, so
    /// that a reader sees whole files (a reader between the two renames sees a mismatch and
    /// compiles).
    fn store(&self, artifact: &Path, recorded: &Path, component: &Component) -> anyhow::Result<()> {
        let serialized = component.serialize()?;
        let digest = Sha256Digest::of(&serialized);
        write_atomically(&self.dir, artifact, &serialized)?;
        write_atomically(&self.dir, recorded, format!("{digest}\n").as_bytes())?;
        Ok(())
    }
}

/// Writes `bytes` to `path` through a temporary file in `dir`.
fn write_atomically(dir: &Path, path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let mut file = tempfile::NamedTempFile::new_in(dir)?;
    file.write_all(bytes)?;
    file.persist(path).map_err(|error| error.error)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn engine() -> Engine {
        let mut config = wasmtime::Config::new();
        config.wasm_component_model(true);
        Engine::new(&config).unwrap()
    }

    /// The smallest component.
    const EMPTY: &[u8] = b"\0asm\x0d\0\x01\0";

    #[test]
    fn a_component_is_compiled_once_then_loaded_verified() {
        let dir = tempfile::tempdir().unwrap();
        let engine = engine();
        let cache = ArtifactCache::open(&dir.path().join("c"), &engine).unwrap();
        let mode = std::fs::metadata(dir.path().join("c"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o700);
        let digest = Sha256Digest::of(EMPTY);
        let load = || cache.load(&engine, &digest, EMPTY).unwrap().1;
        assert_eq!(load(), Source::Compiled);
        assert_eq!(load(), Source::Cached);

        // A tampered artifact is not deserialized: it is compiled again, and replaced.
        let artifact = std::fs::read_dir(dir.path().join("c"))
            .unwrap()
            .map(|entry| entry.unwrap().path())
            .find(|path| path.extension().is_some_and(|ext| ext == "cwasm"))
            .unwrap();
        let mut bytes = std::fs::read(&artifact).unwrap();
        let last = bytes.len() - 1;
        bytes[last] ^= 1;
        std::fs::write(&artifact, bytes).unwrap();
        assert_eq!(load(), Source::Compiled);
        assert_eq!(load(), Source::Cached);
    }

    #[test]
    fn a_folder_others_may_write_to_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o777)).unwrap();
        let error = ArtifactCache::open(dir.path(), &engine()).unwrap_err();
        assert!(
            matches!(error, CacheError::Unsafe { mode: 0o777, .. }),
            "{error}"
        );
    }
}

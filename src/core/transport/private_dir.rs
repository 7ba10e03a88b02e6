//! A directory of TLS material that no other local user can plant files in or read keys from,
//! and the one way files are read from and written to it.
//!
//! The rules, for the aggregator's self-signed certificates and `flowctl certs create` alike:
//! - a directory that is missing is created with mode 0700, whatever the umask;
//! - a directory that exists must be a real directory (not a symbolic link), owned by the
//!   effective uid, and not writable by group or others, or it is refused;
//! - an existing file in it must be a regular file (not a symbolic link), owned by the effective
//!   uid and not writable by group or others, or it is refused;
//! - files are never opened through a symbolic link (`O_NOFOLLOW`); a new file is created with
//!   `O_EXCL`, a replaced one is written to a fresh file in the directory and renamed over it, and
//!   its mode (0644 for certificates, 0600 for keys) is set explicitly, so the umask plays no part.
//!
//! What is not checked: the directory's ancestors are not walked. A directory of our own that is
//! not writable by others cannot have its entries swapped, but an ancestor writable by another
//! user could replace the directory itself; the defaults (`/var/lib/flowctl`, `$XDG_RUNTIME_DIR`)
//! sit under directories only root or the user can write.

use std::fs::{DirBuilder, File, Metadata, OpenOptions};
use std::io::{self, Read, Write};
use std::os::unix::fs::{DirBuilderExt, MetadataExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

use super::TlsError;

/// Mode of a certificate: anyone may read it, only we may change it.
pub const CERT_MODE: u32 = 0o644;
/// Mode of a private key: ours alone.
pub const KEY_MODE: u32 = 0o600;
const DIR_MODE: u32 = 0o700;

/// Creates `dir` (mode 0700) when it is missing, or checks that the one there is ours alone to
/// write in. Missing parents are created with mode 0700 as well.
pub fn prepare(dir: &Path) -> Result<(), TlsError> {
    let write_error = |io| TlsError::Write { path: dir.to_owned(), io };
    match std::fs::symlink_metadata(dir) {
        Ok(meta) => return check_dir(dir, &meta),
        Err(e) if e.kind() == io::ErrorKind::NotFound => {}
        Err(io) => return Err(TlsError::Read { what: "certificate directory", path: dir.to_owned(), io }),
    }
    if let Some(parent) = dir.parent().filter(|p| !p.as_os_str().is_empty()) {
        DirBuilder::new().recursive(true).mode(DIR_MODE).create(parent).map_err(write_error)?;
    }
    // Not recursive: a directory someone else made in the meantime is an error here, and is then
    // checked like any existing one rather than taken as ours.
    match DirBuilder::new().mode(DIR_MODE).create(dir) {
        Ok(()) => {
            std::fs::set_permissions(dir, std::fs::Permissions::from_mode(DIR_MODE)).map_err(write_error)?;
        }
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {}
        Err(io) => return Err(write_error(io)),
    }
    let meta = std::fs::symlink_metadata(dir).map_err(|io| TlsError::Read {
        what: "certificate directory",
        path: dir.to_owned(),
        io,
    })?;
    check_dir(dir, &meta)
}

fn check_dir(dir: &Path, meta: &Metadata) -> Result<(), TlsError> {
    let refuse = |problem: String| Err(TlsError::Unsafe { path: dir.to_owned(), problem });
    if meta.file_type().is_symlink() {
        return refuse("it is a symbolic link; give the directory it points to, if it is trusted".into());
    }
    if !meta.is_dir() {
        return refuse("it is not a directory".into());
    }
    owned_by_us_alone(meta).or_else(refuse)
}

/// The metadata of `path` when it exists and is safe to read or replace, `None` when it is missing.
pub fn existing_file(path: &Path) -> Result<Option<Metadata>, TlsError> {
    let meta = match std::fs::symlink_metadata(path) {
        Ok(meta) => meta,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(io) => return Err(TlsError::Read { what: "file", path: path.to_owned(), io }),
    };
    let problem = if meta.file_type().is_symlink() {
        "it is a symbolic link, which is never followed or replaced here".into()
    } else if !meta.is_file() {
        "it is not a regular file".into()
    } else {
        match owned_by_us_alone(&meta) {
            Ok(()) => return Ok(Some(meta)),
            Err(problem) => problem,
        }
    };
    Err(TlsError::Unsafe { path: path.to_owned(), problem })
}

fn owned_by_us_alone(meta: &Metadata) -> Result<(), String> {
    let euid = nix::unistd::geteuid().as_raw();
    if meta.uid() != euid {
        return Err(format!("it is owned by uid {}, not by uid {euid} that runs flowctl", meta.uid()));
    }
    let mode = meta.mode() & 0o7777;
    if mode & 0o022 != 0 {
        return Err(format!("it is writable by group or others (mode {mode:04o})"));
    }
    Ok(())
}

/// Reads a file that [`existing_file`] accepted, without following a link put there since.
pub fn read(path: &Path, what: &'static str) -> Result<String, TlsError> {
    let error = |io| TlsError::Read { what, path: path.to_owned(), io };
    let mut file = OpenOptions::new().read(true).custom_flags(nix::libc::O_NOFOLLOW).open(path).map_err(error)?;
    let mut contents = String::new();
    file.read_to_string(&mut contents).map_err(error)?;
    Ok(contents)
}

/// Writes a new file; fails when anything, a link included, is already at `path`.
pub fn create_new(path: &Path, contents: &str, mode: u32) -> Result<(), TlsError> {
    let file = open_new(path, mode).map_err(|io| TlsError::Write { path: path.to_owned(), io })?;
    fill(file, path, contents, mode)
}

/// Writes `path` whole, replacing a regular file there: the contents go to a fresh file in the
/// same directory that is then renamed over it, so a reader never sees half a key and a link
/// planted at `path` would be replaced, never followed.
pub fn replace(path: &Path, contents: &str, mode: u32) -> Result<(), TlsError> {
    let error = |io| TlsError::Write { path: path.to_owned(), io };
    let temp = temp_path(path);
    let file = match open_new(&temp, mode) {
        // Left by a run that died between creating and renaming it.
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {
            std::fs::remove_file(&temp).map_err(error)?;
            open_new(&temp, mode)
        }
        other => other,
    }
    .map_err(error)?;
    if let Err(e) = fill(file, path, contents, mode) {
        let _ = std::fs::remove_file(&temp);
        return Err(e);
    }
    std::fs::rename(&temp, path).map_err(|io| {
        let _ = std::fs::remove_file(&temp);
        error(io)
    })
}

fn temp_path(path: &Path) -> PathBuf {
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    path.with_file_name(format!(".{name}.{}.tmp", std::process::id()))
}

fn open_new(path: &Path, mode: u32) -> io::Result<File> {
    OpenOptions::new().write(true).create_new(true).custom_flags(nix::libc::O_NOFOLLOW).mode(mode).open(path)
}

/// The mode is set on the open file before anything is written: the umask may have taken bits
/// from a certificate's mode, and must not matter either way.
fn fill(mut file: File, path: &Path, contents: &str, mode: u32) -> Result<(), TlsError> {
    let error = |io| TlsError::Write { path: path.to_owned(), io };
    file.set_permissions(std::fs::Permissions::from_mode(mode)).map_err(error)?;
    file.write_all(contents.as_bytes()).map_err(error)?;
    file.sync_all().map_err(error)
}

#[cfg(test)]
mod tests {
    use std::os::unix::fs::symlink;

    use super::*;

    fn mode(path: &Path) -> u32 {
        std::fs::symlink_metadata(path).unwrap().mode() & 0o7777
    }

    fn chown_to_nobody(path: &Path) {
        std::os::unix::fs::lchown(path, Some(65534), Some(65534)).unwrap();
    }

    #[test]
    fn a_missing_directory_and_its_parents_are_made_0700() {
        let top = tempfile::tempdir().unwrap();
        let dir = top.path().join("a/b");
        prepare(&dir).unwrap();
        assert_eq!((mode(&top.path().join("a")), mode(&dir)), (0o700, 0o700));
        prepare(&dir).unwrap();
    }

    /// Issue #20: a directory planted by another user was used, its CA trusted.
    #[test]
    fn a_directory_owned_by_another_user_is_refused() {
        let top = tempfile::tempdir().unwrap();
        let dir = top.path().join("certs");
        std::fs::create_dir(&dir).unwrap();
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o700)).unwrap();
        chown_to_nobody(&dir);
        let err = prepare(&dir).unwrap_err().to_string();
        assert!(err.contains(&dir.display().to_string()) && err.contains("owned by uid 65534"), "{err}");
    }

    /// Issue #20: a symbolic link in place of the directory was followed.
    #[test]
    fn a_symlinked_or_shared_directory_is_refused() {
        let top = tempfile::tempdir().unwrap();
        let real = top.path().join("real");
        std::fs::create_dir(&real).unwrap();
        let link = top.path().join("certs");
        symlink(&real, &link).unwrap();
        let err = prepare(&link).unwrap_err().to_string();
        assert!(err.contains(&link.display().to_string()) && err.contains("symbolic link"), "{err}");

        std::fs::set_permissions(&real, std::fs::Permissions::from_mode(0o777)).unwrap();
        let err = prepare(&real).unwrap_err().to_string();
        assert!(err.contains("writable by group or others (mode 0777)"), "{err}");

        let file = top.path().join("file");
        std::fs::write(&file, "").unwrap();
        assert!(prepare(&file).unwrap_err().to_string().contains("not a directory"));
    }

    /// Issue #20: writing through a planted link overwrote the link's target.
    #[test]
    fn files_behind_links_or_of_other_users_are_refused_and_never_written_through() {
        let dir = tempfile::tempdir().unwrap();
        let victim = dir.path().join("victim");
        std::fs::write(&victim, "precious").unwrap();
        let link = dir.path().join("client.crt");
        symlink(&victim, &link).unwrap();
        let err = existing_file(&link).unwrap_err().to_string();
        assert!(err.contains("client.crt") && err.contains("symbolic link"), "{err}");
        assert!(create_new(&link, "x", CERT_MODE).is_err());
        replace(&link, "x", CERT_MODE).unwrap();
        assert_eq!(std::fs::read_to_string(&victim).unwrap(), "precious");
        assert!(!std::fs::symlink_metadata(&link).unwrap().file_type().is_symlink(), "the link itself was replaced");

        chown_to_nobody(&victim);
        let err = existing_file(&victim).unwrap_err().to_string();
        assert!(err.contains("owned by uid 65534"), "{err}");
        let dangling = dir.path().join("dangling.key");
        symlink(dir.path().join("nowhere"), &dangling).unwrap();
        assert!(create_new(&dangling, "secret", KEY_MODE).is_err());
        assert!(!dir.path().join("nowhere").exists(), "nothing created through a dangling link");
        assert!(read(&dangling, "key").is_err());
    }

    #[test]
    fn modes_are_exact_and_replacing_leaves_no_temporary_file() {
        let dir = tempfile::tempdir().unwrap();
        let key = dir.path().join("server.key");
        std::fs::write(&key, "old").unwrap();
        std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o644)).unwrap();
        replace(&key, "new", KEY_MODE).unwrap();
        assert_eq!((mode(&key), std::fs::read_to_string(&key).unwrap().as_str()), (0o600, "new"));
        let cert = dir.path().join("ca.crt");
        create_new(&cert, "pem", CERT_MODE).unwrap();
        assert_eq!(mode(&cert), 0o644);
        assert_eq!(read(&cert, "CA certificate").unwrap(), "pem");
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 2);
    }
}

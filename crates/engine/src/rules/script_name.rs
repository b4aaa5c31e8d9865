//! What a custom script may be called. A script name becomes a file name in
//! the data directory and a module name on the interpreter's path, so it is
//! checked the same way whether it comes from `script add`, a copy, a
//! connector or a package: a plain `.py` file name that can neither leave
//! the script folder nor shadow a module other scripts import.

use super::SDK_MODULE;
use crate::error::{EngineError, Result};

/// Longest script name, in bytes (file systems allow 255; room for `.tmp`).
pub const MAX_SCRIPT_NAME_LEN: usize = 120;

/// `sys.stdlib_module_names` of CPython 3.11 plus the modules later versions
/// added: a custom `json.py` would be imported by every other custom script
/// (the scripts share one folder, which Python puts first on the path).
const STDLIB: &str = include_str!("python_stdlib.txt");
const STDLIB_LATER: &[&str] = &[
    "_interpchannels",
    "_interpqueues",
    "_interpreters",
    "_suggestions",
    "_sysconfig",
    "_colorize",
    "_pyrepl",
    "_android_support",
    "_apple_support",
    "_ios_support",
    "annotationlib",
    "compression",
    "_zstd",
    "_remote_debugging",
    "string.templatelib",
];

/// Is `module` (a top-level module name) part of Python's standard library?
pub fn is_stdlib_module(module: &str) -> bool {
    STDLIB.lines().any(|m| m == module) || STDLIB_LATER.contains(&module)
}

/// A plain file name ending in `.py`: no folder separators, no `..`, no
/// control characters, at most [`MAX_SCRIPT_NAME_LEN`] bytes, and not the
/// name of the SDK module or of a standard-library module.
pub fn check_script_name(name: &str) -> Result<()> {
    let bad = |why: String| {
        EngineError::invalid(
            "script",
            format!(
                "'{}' is not a script name: {why}; use a plain file name ending in .py, e.g. users_from_api.py",
                super::quoted(name, 80)
            ),
        )
    };
    if name.len() > MAX_SCRIPT_NAME_LEN {
        return Err(bad(format!("it is longer than {MAX_SCRIPT_NAME_LEN} bytes")));
    }
    if name.chars().any(char::is_control) {
        return Err(bad("it holds control characters".into()));
    }
    if name.contains(['/', '\\', ':']) || name.contains("..") {
        return Err(bad("it names a folder".into()));
    }
    let Some(module) = name.strip_suffix(".py") else {
        return Err(bad("it does not end in .py".into()));
    };
    if module.is_empty() || name.starts_with('.') || name.trim() != name {
        return Err(bad("it is not a plain file name".into()));
    }
    if module == SDK_MODULE {
        return Err(EngineError::invalid(
            "script",
            format!("'{name}' is the SDK module's name, which every script imports; choose another name"),
        ));
    }
    if is_stdlib_module(module)
        || module.contains('.') && is_stdlib_module(module.split('.').next().unwrap_or(""))
    {
        return Err(EngineError::invalid(
            "script",
            format!(
                "'{name}' is the name of Python's standard module '{module}', which other scripts would import instead of the real one; choose another name"
            ),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_python_file_names_pass() {
        for ok in ["users_from_api.py", "HR users.py", "a.py", "sync-v2.py"] {
            check_script_name(ok).unwrap();
        }
    }

    #[test]
    fn names_that_leave_the_folder_or_shadow_modules_are_refused() {
        for (bad, says) in [
            ("/home/u/.bashrc", "names a folder"),
            ("../../x.py", "names a folder"),
            ("..\\x.py", "names a folder"),
            ("C:x.py", "names a folder"),
            ("x.sh", "does not end in .py"),
            (".py", "not a plain file name"),
            (".hidden.py", "not a plain file name"),
            ("a\u{1b}[2J.py", "control characters"),
            ("common_subroutines_efecte_library.py", "SDK module"),
            ("json.py", "standard module 'json'"),
            ("os.py", "standard module"),
            ("_thread.py", "standard module"),
        ] {
            let e = check_script_name(bad).unwrap_err().to_string();
            assert!(e.contains(says), "{bad:?}: {e}");
            assert!(!e.contains('\u{1b}'), "{e:?}");
        }
        let long = format!("{}.py", "x".repeat(MAX_SCRIPT_NAME_LEN));
        assert!(check_script_name(&long)
            .unwrap_err()
            .to_string()
            .contains("longer than"));
    }
}

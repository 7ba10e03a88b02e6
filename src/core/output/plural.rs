//! Counts in the summaries people read: `1 frame`, `2 frames`, `0 frames`.

/// `n` and the noun in the number it takes.
pub fn counted(n: u64, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Issue #22 (9): summaries said `1 frames`.
    #[test]
    fn one_is_singular_and_the_rest_plural() {
        assert_eq!(counted(1, "frame", "frames"), "1 frame");
        assert_eq!(counted(0, "frame", "frames"), "0 frames");
        assert_eq!(counted(2, "TCP gap", "TCP gaps"), "2 TCP gaps");
    }
}

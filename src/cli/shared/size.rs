//! Sizes as people write them on a command line (`4GiB`, `700MB`).

/// `4GiB`, `700MB`, `512M`, `1048576`: binary units for `Ki/Mi/Gi/Ti` (and
/// bare `K/M/G/T`), decimal for `kB/MB/GB/TB`.
pub fn parse_size(text: &str) -> Result<u64, String> {
    let t = text.trim();
    let split = t.find(|c: char| !(c.is_ascii_digit() || c == '.')).unwrap_or(t.len());
    let (number, unit) = t.split_at(split);
    let number: f64 = number.parse().map_err(|_| format!("`{text}` is not a size like 4GiB or 700MB"))?;
    let scale: f64 = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 1.0,
        "k" | "ki" | "kib" => 1024.0,
        "m" | "mi" | "mib" => 1024f64.powi(2),
        "g" | "gi" | "gib" => 1024f64.powi(3),
        "t" | "ti" | "tib" => 1024f64.powi(4),
        "kb" => 1e3,
        "mb" => 1e6,
        "gb" => 1e9,
        "tb" => 1e12,
        other => return Err(format!("unknown size unit `{other}` in `{text}` (use KiB, MiB, GiB, MB, GB...)")),
    };
    Ok((number * scale) as u64)
}

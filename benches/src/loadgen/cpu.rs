//! CPU time of a process from `/proc/PID/stat`, so a load run can say how much of the machine
//! the server and the client each took (the two share the same cores on a loopback run).

use std::time::Duration;

/// Clock ticks per second of `/proc/PID/stat`'s `utime` and `stime` (`USER_HZ`, fixed at 100
/// by the Linux ABI on every mainstream architecture).
const TICKS_PER_SECOND: u64 = 100;

/// User plus system CPU time consumed so far by process `pid` (`None` = this process), or
/// `None` where `/proc` is not available.
pub fn cpu_time(pid: Option<u32>) -> Option<Duration> {
    let path = match pid {
        Some(pid) => format!("/proc/{pid}/stat"),
        None => "/proc/self/stat".to_string(),
    };
    let stat = std::fs::read_to_string(path).ok()?;
    parse_stat(&stat)
}

/// `utime + stime` from the text of a `stat` file. The command name (field 2) is in
/// parentheses and may hold spaces or parentheses, so fields are counted after the last `)`.
fn parse_stat(stat: &str) -> Option<Duration> {
    let after_name = &stat[stat.rfind(')')? + 1..];
    let mut fields = after_name.split_ascii_whitespace();
    // After the name: state (3), ppid (4), … utime (14), stime (15).
    let utime: u64 = fields.nth(11)?.parse().ok()?;
    let stime: u64 = fields.next()?.parse().ok()?;
    let ticks = utime + stime;
    Some(Duration::from_millis(ticks * 1000 / TICKS_PER_SECOND))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_user_and_system_ticks_after_the_command_name() {
        let stat = "4242 (load gen) (x)) S 1 4242 4242 0 -1 4194560 500 0 0 0 250 30 0 0 20 0 3 0";
        assert_eq!(parse_stat(stat), Some(Duration::from_millis(2_800)));
    }

    #[test]
    fn this_process_has_a_cpu_time() {
        assert!(cpu_time(None).is_some());
    }

    #[test]
    fn a_truncated_stat_is_none() {
        assert_eq!(parse_stat("1 (x) S 1 2"), None);
    }
}

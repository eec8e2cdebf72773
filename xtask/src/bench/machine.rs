//! What the machine and its processes are doing, from `/proc`: cores and
//! the CPU's model, CPU time (machine-wide, of a process, of a process and
//! its children), memory and the load average.

use anyhow::Context as _;

/// `/proc` counts CPU time in clock ticks; Linux's USER_HZ is 100.
const CLOCK_TICKS_PER_SECOND: f64 = 100.0;

pub fn cores() -> usize {
    std::thread::available_parallelism().map_or(1, usize::from)
}

pub fn cpu_model() -> String {
    std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|info| {
            info.lines().find_map(|l| {
                l.strip_prefix("model name")
                    .map(|v| v.trim_start_matches([' ', '\t', ':']).to_owned())
            })
        })
        .unwrap_or_else(|| "unknown CPU".to_owned())
}

/// The machine's CPU time counters at one moment, from `/proc/stat`.
#[derive(Debug, Clone, Copy)]
pub struct MachineCpu {
    busy: f64,
    total: f64,
}

impl MachineCpu {
    pub fn now() -> anyhow::Result<Self> {
        let stat = std::fs::read_to_string("/proc/stat")?;
        let ticks: Vec<f64> = stat
            .lines()
            .next()
            .and_then(|line| line.strip_prefix("cpu "))
            .context("/proc/stat has no cpu line")?
            .split_whitespace()
            .map(str::parse)
            .collect::<Result<_, _>>()?;
        let total: f64 = ticks.iter().sum();
        // idle and iowait, the 4th and 5th fields, are the time not busy.
        let idle = ticks
            .get(3..5)
            .context("/proc/stat cpu fields")?
            .iter()
            .sum::<f64>();
        Ok(MachineCpu {
            busy: total - idle,
            total,
        })
    }

    /// How many cores were busy, on average, since this moment.
    pub fn cores_busy_since(self) -> anyhow::Result<f64> {
        let now = MachineCpu::now()?;
        let total = now.total - self.total;
        Ok(if total > 0.0 {
            (now.busy - self.busy) / total * cores() as f64
        } else {
            0.0
        })
    }
}

/// A process's CPU time so far (user + system), from `/proc/PID/stat`;
/// `pid` may be `self`.
pub fn cpu_seconds(pid: &str) -> anyhow::Result<f64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat"))?;
    // Fields after the command name, which is in parentheses and may
    // hold spaces; utime and stime are the 14th and 15th fields.
    let after_name = stat.rsplit_once(')').context("/proc stat")?.1;
    let fields: Vec<&str> = after_name.split_whitespace().collect();
    let ticks: f64 = fields
        .get(11..13)
        .context("/proc stat fields")?
        .iter()
        .map(|field| field.parse::<f64>())
        .sum::<Result<f64, _>>()?;
    Ok(ticks / CLOCK_TICKS_PER_SECOND)
}

/// The CPU time so far of process `root` and of its children: the
/// postmaster and PostgreSQL's backends (one that ended meanwhile is not
/// counted).
pub fn family_cpu_seconds(root: u32) -> anyhow::Result<f64> {
    let mut total = cpu_seconds(&root.to_string())?;
    for entry in std::fs::read_dir("/proc")? {
        let name = entry?.file_name();
        let Some(pid) = name
            .to_str()
            .filter(|n| n.bytes().all(|b| b.is_ascii_digit()))
        else {
            continue;
        };
        let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
            continue;
        };
        // The parent's id is the second field after the command name.
        let parent = stat
            .rsplit_once(')')
            .and_then(|(_, rest)| rest.split_whitespace().nth(1))
            .and_then(|parent| parent.parse::<u32>().ok());
        if parent == Some(root) {
            total += cpu_seconds(pid).unwrap_or(0.0);
        }
    }
    Ok(total)
}

/// A memory figure of process `pid` from `/proc/PID/status` (`VmRSS`,
/// `VmHWM`, ...), in KiB.
pub fn memory_kib(pid: u32, field: &str) -> anyhow::Result<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))?;
    status
        .lines()
        .find_map(|line| line.strip_prefix(field)?.strip_prefix(':'))
        .and_then(|value| value.trim().trim_end_matches("kB").trim().parse().ok())
        .with_context(|| format!("no {field} in /proc status"))
}

/// Resets process `pid`'s peak resident set (`VmHWM`) to what it holds
/// now, by writing 5 to `/proc/PID/clear_refs` (Linux 4.0+, the process's
/// owner or root), so a later `VmHWM` is the peak of what came after.
pub fn reset_peak_memory(pid: u32) -> anyhow::Result<()> {
    std::fs::write(format!("/proc/{pid}/clear_refs"), "5")
        .with_context(|| format!("resetting the peak RSS of {pid}"))
}

/// The 1-minute load average, as `/proc/loadavg` has it.
pub fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .ok()
        .and_then(|text| text.split_whitespace().next().map(str::to_owned))
        .unwrap_or_else(|| "?".to_owned())
}

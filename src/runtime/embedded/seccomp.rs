//! A small compiler from the OCI seccomp section to a classic BPF program, so the embedded runtime
//! needs no libseccomp.
//!
//! Layout: check the architecture (anything but the native one, and x32 on x86_64, gets ENOSYS: 32-bit
//! binaries cannot slip past a filter written for 64-bit syscall numbers); then one block per rule, in
//! the profile's order, first match wins: `A = nr; if A != NR goto next; <argument checks>; return
//! action`; finally the default action. Argument comparisons are 64-bit (two 32-bit halves).

use super::syscalls;
use oci_spec::runtime::{LinuxSeccomp, LinuxSeccompAction, LinuxSeccompArg, LinuxSeccompOperator};

const BPF_LD: u16 = 0x00;
const BPF_W: u16 = 0x00;
const BPF_ABS: u16 = 0x20;
const BPF_ALU: u16 = 0x04;
const BPF_AND: u16 = 0x50;
const BPF_K: u16 = 0x00;
const BPF_JMP: u16 = 0x05;
const BPF_JEQ: u16 = 0x10;
const BPF_JGT: u16 = 0x20;
const BPF_JGE: u16 = 0x30;
const BPF_RET: u16 = 0x06;

const RET_KILL_PROCESS: u32 = 0x8000_0000;
const RET_KILL_THREAD: u32 = 0;
const RET_TRAP: u32 = 0x0003_0000;
const RET_ERRNO: u32 = 0x0005_0000;
const RET_TRACE: u32 = 0x7ff0_0000;
const RET_LOG: u32 = 0x7ffc_0000;
const RET_ALLOW: u32 = 0x7fff_0000;

#[cfg(target_arch = "x86_64")]
const AUDIT_ARCH: u32 = 0xC000_003E;
#[cfg(target_arch = "aarch64")]
const AUDIT_ARCH: u32 = 0xC000_00B7;

const OFF_NR: u32 = 0;
const OFF_ARCH: u32 = 4;
fn off_arg_lo(i: usize) -> u32 {
    16 + 8 * i as u32
}
fn off_arg_hi(i: usize) -> u32 {
    off_arg_lo(i) + 4
}

/// Where a conditional jump goes, resolved when the block is complete.
#[derive(Clone, Copy)]
enum Target {
    Next,
    /// The end of the current argument check (the check passed).
    Pass,
    /// The end of the block (the rule does not match).
    Fail,
}

struct Ins {
    code: u16,
    k: u32,
    jt: Target,
    jf: Target,
}

fn stmt(code: u16, k: u32) -> Ins {
    Ins { code, k, jt: Target::Next, jf: Target::Next }
}
fn jump(code: u16, k: u32, jt: Target, jf: Target) -> Ins {
    Ins { code: BPF_JMP | code | BPF_K, k, jt, jf }
}
fn ld(off: u32) -> Ins {
    stmt(BPF_LD | BPF_W | BPF_ABS, off)
}
fn sf(code: u16, jt: u8, jf: u8, k: u32) -> libc::sock_filter {
    libc::sock_filter { code, jt, jf, k }
}

fn action_value(action: LinuxSeccompAction, errno: Option<u32>) -> Result<u32, String> {
    Ok(match action {
        LinuxSeccompAction::ScmpActAllow => RET_ALLOW,
        LinuxSeccompAction::ScmpActErrno => RET_ERRNO | (errno.unwrap_or(libc::EPERM as u32) & 0xffff),
        LinuxSeccompAction::ScmpActKill | LinuxSeccompAction::ScmpActKillThread => RET_KILL_THREAD,
        LinuxSeccompAction::ScmpActKillProcess => RET_KILL_PROCESS,
        LinuxSeccompAction::ScmpActTrap => RET_TRAP,
        LinuxSeccompAction::ScmpActTrace => RET_TRACE | (errno.unwrap_or(0) & 0xffff),
        LinuxSeccompAction::ScmpActLog => RET_LOG,
        LinuxSeccompAction::ScmpActNotify => {
            return Err("seccomp action SCMP_ACT_NOTIFY needs a seccomp agent, which Warren does not have".into())
        }
    })
}

/// Instructions that fall through when `arg` matches and jump to Fail otherwise.
fn arg_check(arg: &LinuxSeccompArg) -> Vec<Ins> {
    let i = arg.index();
    let v = arg.value();
    let (vhi, vlo) = ((v >> 32) as u32, v as u32);
    let mut out = Vec::new();
    match arg.op() {
        LinuxSeccompOperator::ScmpCmpEq => {
            out.push(ld(off_arg_hi(i)));
            out.push(jump(BPF_JEQ, vhi, Target::Next, Target::Fail));
            out.push(ld(off_arg_lo(i)));
            out.push(jump(BPF_JEQ, vlo, Target::Next, Target::Fail));
        }
        LinuxSeccompOperator::ScmpCmpNe => {
            out.push(ld(off_arg_hi(i)));
            out.push(jump(BPF_JEQ, vhi, Target::Next, Target::Pass));
            out.push(ld(off_arg_lo(i)));
            out.push(jump(BPF_JEQ, vlo, Target::Fail, Target::Next));
        }
        LinuxSeccompOperator::ScmpCmpMaskedEq => {
            // libseccomp: (arg & value) == valueTwo.
            let want = arg.value_two().unwrap_or(0);
            out.push(ld(off_arg_hi(i)));
            out.push(stmt(BPF_ALU | BPF_AND | BPF_K, vhi));
            out.push(jump(BPF_JEQ, (want >> 32) as u32, Target::Next, Target::Fail));
            out.push(ld(off_arg_lo(i)));
            out.push(stmt(BPF_ALU | BPF_AND | BPF_K, vlo));
            out.push(jump(BPF_JEQ, want as u32, Target::Next, Target::Fail));
        }
        LinuxSeccompOperator::ScmpCmpGt | LinuxSeccompOperator::ScmpCmpGe => {
            out.push(ld(off_arg_hi(i)));
            out.push(jump(BPF_JGT, vhi, Target::Pass, Target::Next));
            out.push(jump(BPF_JEQ, vhi, Target::Next, Target::Fail));
            out.push(ld(off_arg_lo(i)));
            let op = if arg.op() == LinuxSeccompOperator::ScmpCmpGt { BPF_JGT } else { BPF_JGE };
            out.push(jump(op, vlo, Target::Next, Target::Fail));
        }
        LinuxSeccompOperator::ScmpCmpLt | LinuxSeccompOperator::ScmpCmpLe => {
            out.push(ld(off_arg_hi(i)));
            out.push(jump(BPF_JGE, vhi, Target::Next, Target::Pass));
            out.push(jump(BPF_JEQ, vhi, Target::Next, Target::Fail));
            out.push(ld(off_arg_lo(i)));
            // LT: fail when lo >= v; LE: fail when lo > v.
            let op = if arg.op() == LinuxSeccompOperator::ScmpCmpLt { BPF_JGE } else { BPF_JGT };
            out.push(jump(op, vlo, Target::Fail, Target::Next));
        }
    }
    out
}

/// Compile `seccomp` for the running architecture.
pub fn compile(seccomp: &LinuxSeccomp) -> Result<Vec<libc::sock_filter>, String> {
    let mut prog = vec![
        sf(BPF_LD | BPF_W | BPF_ABS, 0, 0, OFF_ARCH),
        sf(BPF_JMP | BPF_JEQ | BPF_K, 1, 0, AUDIT_ARCH),
        sf(BPF_RET | BPF_K, 0, 0, RET_ERRNO | libc::ENOSYS as u32),
    ];
    #[cfg(target_arch = "x86_64")]
    {
        // x32 syscalls have bit 30 set.
        prog.push(sf(BPF_LD | BPF_W | BPF_ABS, 0, 0, OFF_NR));
        prog.push(sf(BPF_JMP | BPF_JGE | BPF_K, 0, 1, 0x4000_0000));
        prog.push(sf(BPF_RET | BPF_K, 0, 0, RET_ERRNO | libc::ENOSYS as u32));
    }
    let default = action_value(seccomp.default_action(), seccomp.default_errno_ret())?;
    for rule in seccomp.syscalls().iter().flatten() {
        let ret = action_value(rule.action(), rule.errno_ret())?;
        if ret == default && rule.args().as_ref().is_none_or(|a| a.is_empty()) {
            continue; // same as falling through to the default
        }
        for name in rule.names() {
            let Some(nr) = syscalls::number(name) else {
                tracing::debug!("seccomp: syscall {name} does not exist on this architecture; rule skipped");
                continue;
            };
            // One block: the checks are emitted with symbolic targets, then resolved.
            let mut block: Vec<Ins> = vec![ld(OFF_NR), jump(BPF_JEQ, nr as u32, Target::Next, Target::Fail)];
            let mut check_ends: Vec<(usize, usize)> = Vec::new(); // (start, end) of each arg check
            for arg in rule.args().iter().flatten() {
                let start = block.len();
                block.extend(arg_check(arg));
                check_ends.push((start, block.len()));
            }
            block.push(stmt(BPF_RET | BPF_K, ret));
            let end = block.len();
            if end > 250 {
                return Err(format!("seccomp rule for {name} has too many argument conditions"));
            }
            for (idx, ins) in block.iter().enumerate() {
                let resolve = |t: Target| -> u8 {
                    let dest = match t {
                        Target::Next => idx + 1,
                        Target::Fail => end,
                        Target::Pass => {
                            check_ends.iter().find(|(s, e)| idx >= *s && idx < *e).map(|(_, e)| *e).unwrap_or(idx + 1)
                        }
                    };
                    (dest - idx - 1) as u8
                };
                let is_jump = ins.code & 0x07 == BPF_JMP;
                let (jt, jf) = if is_jump { (resolve(ins.jt), resolve(ins.jf)) } else { (0, 0) };
                prog.push(sf(ins.code, jt, jf, ins.k));
            }
        }
    }
    prog.push(sf(BPF_RET | BPF_K, 0, 0, default));
    if prog.len() > 4096 {
        return Err(format!("seccomp profile compiles to {} instructions, more than the kernel's 4096", prog.len()));
    }
    Ok(prog)
}

#[cfg(test)]
mod tests {
    use super::*;
    use oci_spec::runtime::{LinuxSeccompArgBuilder, LinuxSeccompBuilder, LinuxSyscallBuilder};

    /// A tiny classic-BPF interpreter over a fake seccomp_data, to check the compiled program.
    fn run(prog: &[libc::sock_filter], arch: u32, nr: u32, args: [u64; 6]) -> u32 {
        let mut data = [0u8; 64];
        data[0..4].copy_from_slice(&nr.to_ne_bytes());
        data[4..8].copy_from_slice(&arch.to_ne_bytes());
        for (i, a) in args.iter().enumerate() {
            data[16 + 8 * i..24 + 8 * i].copy_from_slice(&a.to_ne_bytes());
        }
        let (mut pc, mut a) = (0usize, 0u32);
        loop {
            let ins = prog[pc];
            match ins.code {
                c if c == BPF_LD | BPF_W | BPF_ABS => {
                    let o = ins.k as usize;
                    a = u32::from_ne_bytes(data[o..o + 4].try_into().unwrap());
                }
                c if c == BPF_ALU | BPF_AND | BPF_K => a &= ins.k,
                c if c == BPF_RET | BPF_K => return ins.k,
                c if c & 0x07 == BPF_JMP => {
                    let t = match c & 0xf0 {
                        BPF_JEQ => a == ins.k,
                        BPF_JGT => a > ins.k,
                        BPF_JGE => a >= ins.k,
                        _ => panic!("op"),
                    };
                    pc += if t { ins.jt as usize } else { ins.jf as usize };
                }
                _ => panic!("unknown instruction {}", ins.code),
            }
            pc += 1;
        }
    }

    #[test]
    fn denylist_and_masked_args() {
        let plan_caps: Vec<String> = crate::runtime::spec::DEFAULT_CAPABILITIES.iter().map(|s| s.to_string()).collect();
        let sc = crate::runtime::spec::default_seccomp(&plan_caps).unwrap();
        let prog = compile(&sc).unwrap();
        let nr = |n: &str| syscalls::number(n).unwrap() as u32;
        let eperm = RET_ERRNO | libc::EPERM as u32;
        let enosys = RET_ERRNO | libc::ENOSYS as u32;
        assert_eq!(run(&prog, AUDIT_ARCH, nr("kexec_load"), [0; 6]), eperm);
        assert_eq!(run(&prog, AUDIT_ARCH, nr("setns"), [0; 6]), eperm);
        assert_eq!(run(&prog, AUDIT_ARCH, nr("add_key"), [0; 6]), enosys);
        assert_eq!(run(&prog, AUDIT_ARCH, nr("read"), [0; 6]), RET_ALLOW);
        assert_eq!(run(&prog, AUDIT_ARCH, nr("mount"), [0; 6]), RET_ALLOW);
        let (netlink, audit) = (libc::AF_NETLINK as u64, libc::NETLINK_AUDIT as u64);
        let einval = RET_ERRNO | libc::EINVAL as u32;
        assert_eq!(run(&prog, AUDIT_ARCH, nr("socket"), [netlink, 3, audit, 0, 0, 0]), einval);
        assert_eq!(run(&prog, AUDIT_ARCH, nr("socket"), [netlink, 3, 0, 0, 0, 0]), RET_ALLOW);
        assert_eq!(run(&prog, AUDIT_ARCH, nr("socket"), [libc::AF_INET as u64, 1, audit, 0, 0, 0]), RET_ALLOW);
        assert_eq!(run(&prog, 0x4000_0003, 1, [0; 6]), enosys);
    }

    #[test]
    fn comparisons_are_64_bit() {
        let arg = |op, v: u64| LinuxSeccompArgBuilder::default().index(1usize).value(v).op(op).build().unwrap();
        for (op, v, x, want) in [
            (LinuxSeccompOperator::ScmpCmpEq, 5u64, 5u64, true),
            (LinuxSeccompOperator::ScmpCmpEq, 5, 5 | (1 << 32), false),
            (LinuxSeccompOperator::ScmpCmpNe, 5, 6, true),
            (LinuxSeccompOperator::ScmpCmpNe, 5, 5, false),
            (LinuxSeccompOperator::ScmpCmpGt, 1 << 32, (1 << 32) + 1, true),
            (LinuxSeccompOperator::ScmpCmpGt, 1 << 32, 1 << 32, false),
            (LinuxSeccompOperator::ScmpCmpGe, 1 << 32, 1 << 32, true),
            (LinuxSeccompOperator::ScmpCmpGe, 1 << 32, 7, false),
            (LinuxSeccompOperator::ScmpCmpLt, 10, 9, true),
            (LinuxSeccompOperator::ScmpCmpLt, 10, 10, false),
            (LinuxSeccompOperator::ScmpCmpLt, 10, 1 << 33, false),
            (LinuxSeccompOperator::ScmpCmpLe, 10, 10, true),
            (LinuxSeccompOperator::ScmpCmpLe, 10, 11, false),
        ] {
            let rule = LinuxSyscallBuilder::default()
                .names(vec!["write".to_string()])
                .action(LinuxSeccompAction::ScmpActErrno)
                .errno_ret(1u32)
                .args(vec![arg(op, v)])
                .build()
                .unwrap();
            let sc = LinuxSeccompBuilder::default()
                .default_action(LinuxSeccompAction::ScmpActAllow)
                .syscalls(vec![rule])
                .build()
                .unwrap();
            let prog = compile(&sc).unwrap();
            let got = run(&prog, AUDIT_ARCH, syscalls::number("write").unwrap() as u32, [0, x, 0, 0, 0, 0]);
            assert_eq!(got == RET_ERRNO | 1, want, "{op:?} {v} vs {x}");
        }
    }
}

//! The one channel between the runtime (parent) and the container process: a SOCK_SEQPACKET socketpair
//! (close-on-exec, so a successful exec closes the container's end and the parent reads EOF).
//!
//! Messages, one per packet, first byte = kind:
//! - parent → child `G`: the id maps (nested user namespace) and the pid file are written, go on.
//! - child → parent `T` + SCM_RIGHTS fd: the pty master of the container's console.
//! - parent → child `A`: the console's window size is set, go on.
//! - child → parent `E` + 4-byte exit code + message: setup or exec failed.

use nix::sys::socket::{
    recvmsg, sendmsg, socketpair, AddressFamily, ControlMessage, ControlMessageOwned, MsgFlags, SockFlag, SockType,
};
use std::io::{IoSlice, IoSliceMut};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};

pub enum Msg {
    Go,
    Ack,
    Tty(OwnedFd),
    Error { code: i32, msg: String },
}

pub fn pair() -> nix::Result<(OwnedFd, OwnedFd)> {
    socketpair(AddressFamily::Unix, SockType::SeqPacket, None, SockFlag::SOCK_CLOEXEC)
}

pub fn send(fd: RawFd, msg: &Msg) -> nix::Result<()> {
    let mut buf = Vec::new();
    let mut fds = Vec::new();
    match msg {
        Msg::Go => buf.push(b'G'),
        Msg::Ack => buf.push(b'A'),
        Msg::Tty(f) => {
            buf.push(b'T');
            fds.push(f.as_raw_fd());
        }
        Msg::Error { code, msg } => {
            buf.push(b'E');
            buf.extend_from_slice(&code.to_le_bytes());
            buf.extend_from_slice(msg.as_bytes());
        }
    }
    let iov = [IoSlice::new(&buf)];
    let cmsg = [ControlMessage::ScmRights(&fds)];
    let cmsgs: &[ControlMessage] = if fds.is_empty() { &[] } else { &cmsg };
    sendmsg::<()>(fd, &iov, cmsgs, MsgFlags::MSG_NOSIGNAL, None).map(drop)
}

/// The next message; None at EOF (the other end is closed: exec succeeded or the process died).
pub fn recv(fd: RawFd) -> nix::Result<Option<Msg>> {
    let mut buf = vec![0u8; 8192];
    let mut cmsg_space = nix::cmsg_space!([RawFd; 1]);
    let (n, fds) = {
        let mut iov = [IoSliceMut::new(&mut buf)];
        let r = recvmsg::<()>(fd, &mut iov, Some(&mut cmsg_space), MsgFlags::MSG_CMSG_CLOEXEC)?;
        let mut fds = Vec::new();
        for c in r.cmsgs()? {
            if let ControlMessageOwned::ScmRights(v) = c {
                fds.extend(v);
            }
        }
        (r.bytes, fds)
    };
    // SAFETY: the kernel just installed these descriptors in this process for us; nothing else owns them.
    let mut owned: Vec<OwnedFd> = fds.into_iter().map(|f| unsafe { OwnedFd::from_raw_fd(f) }).collect();
    if n == 0 {
        return Ok(None);
    }
    Ok(Some(match buf[0] {
        b'G' => Msg::Go,
        b'A' => Msg::Ack,
        b'T' if !owned.is_empty() => Msg::Tty(owned.remove(0)),
        b'E' if n >= 5 => Msg::Error {
            code: i32::from_le_bytes(buf[1..5].try_into().unwrap_or([0, 0, 0, 125])),
            msg: String::from_utf8_lossy(&buf[5..n]).into_owned(),
        },
        _ => Msg::Error { code: 125, msg: "the container process sent a malformed message".into() },
    }))
}

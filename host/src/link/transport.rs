//! Where and how the two processes connect: the link address (Unix socket or TCP), the boxed
//! stream both sides read, and [`LinkWriter`], the game thread's own blocking writer on the
//! server's socket.

use std::path::PathBuf;

use tokio::io::{AsyncRead, AsyncWrite};

use super::LinkError;

/// Where the portal listens for its server.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LinkAddr {
    /// A Unix socket path (default: `<data>/link.sock`).
    Unix(PathBuf),
    /// A TCP address, for a portal on another machine.
    Tcp(String),
}

impl LinkAddr {
    /// Parse `unix:PATH` or `tcp:HOST:PORT`.
    pub fn parse(s: &str) -> Result<LinkAddr, LinkError> {
        if let Some(p) = s.strip_prefix("unix:") {
            Ok(LinkAddr::Unix(PathBuf::from(p)))
        } else if let Some(a) = s.strip_prefix("tcp:") {
            Ok(LinkAddr::Tcp(a.to_string()))
        } else {
            Err(LinkError::BadAddress(s.to_string()))
        }
    }
}

impl std::fmt::Display for LinkAddr {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            LinkAddr::Unix(p) => write!(f, "unix:{}", p.display()),
            LinkAddr::Tcp(a) => write!(f, "tcp:{a}"),
        }
    }
}
/// A connected link stream of either kind, boxed so both sides handle one type.
pub type LinkStream = Box<dyn AsyncReadWrite>;

/// A bidirectional async byte stream.
pub trait AsyncReadWrite: AsyncRead + AsyncWrite + Unpin + Send {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send> AsyncReadWrite for T {}

/// The server's end of the link for writing, used straight from the game thread: a frame goes
/// out in the same thread that made it, without waking another task to write it (and waiting
/// for the socket to have room, as a full queue towards a writer task did).
///
/// It writes through its own descriptor of the link socket. The socket is non-blocking (the
/// reading side belongs to the async runtime, and the two descriptors share that flag), so a
/// full socket is waited for with `poll`.
pub struct LinkWriter {
    fd: std::os::fd::OwnedFd,
}

impl LinkWriter {
    /// A writer on a duplicate of `socket`'s descriptor.
    fn of(socket: &impl std::os::fd::AsFd) -> std::io::Result<LinkWriter> {
        Ok(LinkWriter { fd: socket.as_fd().try_clone_to_owned()? })
    }
}

impl std::io::Write for LinkWriter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        use std::os::fd::AsRawFd;
        loop {
            // SAFETY: the descriptor is open (owned) and `buf` is valid for its length.
            let n = unsafe { libc::write(self.fd.as_raw_fd(), buf.as_ptr().cast(), buf.len()) };
            if n >= 0 {
                return Ok(n as usize);
            }
            let err = std::io::Error::last_os_error();
            match err.kind() {
                std::io::ErrorKind::Interrupted => continue,
                std::io::ErrorKind::WouldBlock => {
                    let mut pfd =
                        libc::pollfd { fd: self.fd.as_raw_fd(), events: libc::POLLOUT, revents: 0 };
                    // SAFETY: one valid pollfd; -1 waits until the socket has room or fails.
                    if unsafe { libc::poll(&mut pfd, 1, -1) } < 0 {
                        let err = std::io::Error::last_os_error();
                        if err.kind() != std::io::ErrorKind::Interrupted {
                            return Err(err);
                        }
                    }
                }
                _ => return Err(err),
            }
        }
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Connect to a portal's link address (the server process): the stream to read from and the
/// writer for the game thread.
pub async fn connect_server(addr: &LinkAddr) -> Result<(LinkStream, LinkWriter), LinkError> {
    Ok(match addr {
        LinkAddr::Unix(p) => {
            let s = tokio::net::UnixStream::connect(p).await?;
            let w = LinkWriter::of(&s)?;
            (Box::new(s), w)
        }
        LinkAddr::Tcp(a) => {
            let s = tokio::net::TcpStream::connect(a).await?;
            s.set_nodelay(true)?;
            let w = LinkWriter::of(&s)?;
            (Box::new(s), w)
        }
    })
}

/*
 * dropbear-localoptions.h - our dropbear build options for the Linux 2.0.36 guest
 * (copied to localoptions.h in the dropbear tree; it overrides default_options.h).
 */
/* Per-connection re-exec needs execveat/fexecve, which 2.0 lacks. */
#define DROPBEAR_REEXEC 0
/* Key-only authentication: Debian's musl libc.a has no crypt(), and the lab logs in
 * with an ed25519 key. */
#define DROPBEAR_SVR_PASSWORD_AUTH 0
#define DROPBEAR_SVR_PAM_AUTH 0
#define DROPBEAR_SVR_PUBKEY_AUTH 1
/* OpenSSH's sftp-server, built by build-userland.sh */
#define SFTPSERVER_PATH "/usr/libexec/sftp-server"
#define DEFAULT_PATH "/bin:/sbin:/usr/bin:/usr/sbin"
/* Host key: ed25519 (fast to generate and to use on a 2.0-era guest under TCG).
 * RSA stays compiled in: 2022.83's signkey.c does not build without it. */
#define DROPBEAR_RSA 1
#define DROPBEAR_DSS 0
#define DROPBEAR_ECDSA 0
#define DROPBEAR_ED25519 1
#define DROPBEAR_SK_KEYS 0
#define DROPBEAR_X11FWD 0
#define DROPBEAR_SVR_AGENTFWD 0
/* No lastlog/utmp files on the guest. */
#define DO_MOTD 0

"""Getting a message out: e-mail through Django's mail framework, chat through an
incoming webhook. Each failure is sorted into "try again later" or "give up now"."""

from __future__ import annotations

import contextlib
import http.client
import ipaddress
import json
import smtplib
import socket
import urllib.error
import urllib.request
from urllib.parse import urlsplit

from django.conf import settings
from django.core.mail import EmailMultiAlternatives, get_connection


class TransientError(Exception):
    """Worth another try later (server down, timeout, rate limited)."""


class PermanentError(Exception):
    """Will never work as it is (address refused, webhook gone or rejected)."""


class EmailSender:
    """One mail connection for a batch; ``send`` raises one of the two errors above."""

    def __init__(self) -> None:
        self.connection = get_connection()

    def open(self) -> None:
        try:
            self.connection.open()
        except (smtplib.SMTPException, OSError) as error:
            raise TransientError(f"Could not reach the mail server: {error}") from error

    def close(self) -> None:
        # The messages are out; a failed goodbye changes nothing.
        with contextlib.suppress(smtplib.SMTPException, OSError):
            self.connection.close()

    def send(self, *, to: str, subject: str, text: str, html: str = "") -> None:
        message = EmailMultiAlternatives(
            subject, text, settings.DEFAULT_FROM_EMAIL, [to], connection=self.connection
        )
        if html:
            message.attach_alternative(html, "text/html")
        try:
            message.send()
        except smtplib.SMTPRecipientsRefused as error:
            raise PermanentError(f"The mail server refused {to}.") from error
        except (smtplib.SMTPException, OSError) as error:
            raise TransientError(f"Sending failed: {error}") from error


def post_webhook(url: str, text: str) -> None:
    """POST ``{"text": ...}``: the shape both Slack and Microsoft Teams incoming webhooks
    accept. 4xx (but 429) is permanent: the URL is wrong, revoked or refuses us."""
    if not url.startswith(("https://", "http://")):
        raise PermanentError("The webhook address must start with https://.")
    checked = refuse_addresses_inside_the_network(url)
    request = urllib.request.Request(  # noqa: S310 (the scheme is checked above)
        url,
        data=json.dumps({"text": _as_chat_text(text)}).encode(),
        headers={"Content-Type": "application/json", "User-Agent": "Waymark"},
        method="POST",
    )
    timeout = settings.WAYMARK["WEBHOOK_TIMEOUT_SECONDS"]
    try:
        with _opener(url, checked).open(request, timeout=timeout) as response:
            response.read(1024)
    except urllib.error.HTTPError as error:
        detail = f"The chat service answered {error.code} {error.reason}."
        if 300 <= error.code < 400:
            detail += " Waymark posts only to the webhook's own address, not where it redirects."
        if error.code == 429 or error.code >= 500:
            raise TransientError(detail) from error
        raise PermanentError(detail) from error
    except (urllib.error.URLError, OSError) as error:
        raise TransientError(f"Could not reach the chat service: {error}") from error


def _as_chat_text(text: str) -> str:
    """``text`` with ``&``, ``<`` and ``>`` escaped, as Slack asks: between angle brackets
    it reads commands (``<!channel>`` notifies everyone) and links with any label. A team
    or key result named so must reach the chat as the words it is. Teams shows the
    escapes as the characters."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


class _RefuseRedirects(urllib.request.HTTPRedirectHandler):
    """A redirect is answered as the error it is here: following it would send the
    request wherever the answer says (a 302 turns the POST into a GET), past the check
    of the webhook's own address."""

    def redirect_request(self, req, fp, code, msg, headers, newurl):
        return None


_WEBHOOK_OPENER = urllib.request.build_opener(_RefuseRedirects)


def _opener(url: str, checked: str | None) -> urllib.request.OpenerDirector:
    """What posts to ``url``: one that connects to ``checked``, the address just found
    to be public, when there is one and no proxy stands between (a proxy looks the name
    up itself)."""
    parts = urlsplit(url)
    proxied = parts.scheme in urllib.request.getproxies() and not urllib.request.proxy_bypass(
        parts.hostname or ""
    )
    if checked is None or proxied:
        return _WEBHOOK_OPENER
    return _pinned_opener(checked)


def _pinned_opener(address: str) -> urllib.request.OpenerDirector:
    """An opener that connects to ``address`` whatever the host name resolves to by
    then: a name whose DNS answer changes between the check and the post (DNS
    rebinding) cannot turn the post inward. The request still names the host: in its
    Host header, and for TLS as the server name whose certificate must match."""

    def connect(target: tuple, *args, **kwargs) -> socket.socket:
        return socket.create_connection((address, target[1]), *args, **kwargs)

    def pinned(connection_class):
        def make(host: str, **kwargs) -> http.client.HTTPConnection:
            connection = connection_class(host, **kwargs)
            connection._create_connection = connect
            return connection

        return make

    class PinnedHTTP(urllib.request.HTTPHandler):
        def http_open(self, req):
            return self.do_open(pinned(http.client.HTTPConnection), req)

    class PinnedHTTPS(urllib.request.HTTPSHandler):
        def https_open(self, req):
            return self.do_open(pinned(http.client.HTTPSConnection), req, context=self._context)

    return urllib.request.build_opener(_RefuseRedirects, PinnedHTTP, PinnedHTTPS)


def refuse_addresses_inside_the_network(url: str) -> str | None:
    """PermanentError when the webhook's host is, or resolves to, an address that is not
    on the public internet (loopback, private networks, link-local such as a cloud's
    metadata service): a team lead must not be able to make the worker post to the
    services beside it. Returns the address to post to (None when any will do).
    ``WEBHOOK_PRIVATE_ADDRESSES`` allows them, for a chat server inside the
    organisation's network (and on a development machine, where it is on)."""
    if settings.WAYMARK["WEBHOOK_PRIVATE_ADDRESSES"]:
        return None
    host = urlsplit(url).hostname or ""
    try:
        found = socket.getaddrinfo(host, None, proto=socket.IPPROTO_TCP)
    except (OSError, UnicodeError) as error:
        raise TransientError(f"Could not find the chat service's address: {error}") from error
    for *_, address in found:
        ip = ipaddress.ip_address(address[0].split("%")[0])
        if not ip.is_global:
            raise PermanentError(
                f"The webhook address points inside the network ({ip}), which Waymark does "
                "not post to unless its administrator allows it (WEBHOOK_PRIVATE_ADDRESSES)."
            )
    return found[0][4][0].split("%")[0]

"""The site's cache on Redis, which a Redis outage cannot turn into server errors.

Django's ``RedisCache`` raises when Redis does not answer, and the API's token throttle
reads and writes the cache on every token request: with Redis down each one failed with
a 500. Here a read misses and a write is dropped instead (logged), so the site keeps
answering and token clients go unthrottled until Redis is back.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable
from typing import Any

from django.core.cache.backends.redis import RedisCache
from redis.exceptions import RedisError

logger = logging.getLogger(__name__)


def _or(fallback: Callable[..., Any]) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Run the cache method; when Redis fails, log it and answer ``fallback(...)``."""

    def decorate(method: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(method)
        def call(self: RedisCache, *args: Any, **kwargs: Any) -> Any:
            try:
                return method(self, *args, **kwargs)
            except RedisError as error:
                logger.warning("Cache unavailable, %s skipped: %s", method.__name__, error)
                return fallback(*args, **kwargs)

        return call

    return decorate


class FailSoftRedisCache(RedisCache):
    """``RedisCache`` whose reads miss and writes are dropped while Redis is down.
    ``incr``, ``decr`` and ``clear`` still raise: no answer of theirs would be true."""

    get = _or(lambda key, default=None, version=None: default)(RedisCache.get)
    get_many = _or(lambda *args, **kwargs: {})(RedisCache.get_many)
    has_key = _or(lambda *args, **kwargs: False)(RedisCache.has_key)
    set = _or(lambda *args, **kwargs: None)(RedisCache.set)
    add = _or(lambda *args, **kwargs: False)(RedisCache.add)
    touch = _or(lambda *args, **kwargs: False)(RedisCache.touch)
    delete = _or(lambda *args, **kwargs: False)(RedisCache.delete)
    set_many = _or(lambda data, *args, **kwargs: list(data))(RedisCache.set_many)
    delete_many = _or(lambda *args, **kwargs: None)(RedisCache.delete_many)

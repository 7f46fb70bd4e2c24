"""A small thread-safe least-recently-used map, kept per process."""

import collections
import threading


class LRUCache:
    def __init__(self, size):
        self.size, self.items, self.lock = size, collections.OrderedDict(), threading.Lock()
        self.hits = self.misses = 0

    def get(self, key):
        with self.lock:
            value = self.items.get(key)
            if value is None:
                self.misses += 1
            else:
                self.hits += 1
                self.items.move_to_end(key)
            return value

    def put(self, key, value):
        with self.lock:
            self.items[key] = value
            self.items.move_to_end(key)
            while len(self.items) > self.size:
                self.items.popitem(last=False)

    def discard(self, key):
        with self.lock:
            self.items.pop(key, None)

    def clear(self):
        with self.lock:
            self.items.clear()
            self.hits = self.misses = 0

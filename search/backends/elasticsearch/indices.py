"""Namespaces as versioned indices behind a read alias and a write alias.

``<prefix>-<namespace>-<yyyymmddhhmmss>`` holds the chunks;
``<prefix>-<namespace>`` (searches) and ``<prefix>-<namespace>-write``
(indexing) point at the live one. A rebuild fills a new versioned index,
then moves both aliases in one ``_aliases`` call and only then deletes the
old index. A rebuild handle is ``"<new index>|<fallback handle>"``.
"""

import dataclasses
import datetime
import logging
import re

from elasticsearch import ApiError

from ...models import Synonym

logger = logging.getLogger("govkm.search")

STAMP = "%Y%m%d%H%M%S"
NAMESPACE = re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}$")


@dataclasses.dataclass(frozen=True)
class ElasticsearchTarget:
    """Where an operation on a namespace (or a rebuild handle) goes."""

    namespace: str
    index: str  # the write alias, or a concrete index while rebuilding
    read: str  # what to read stored vectors from
    fallback_namespace: str
    rebuilding: bool


class ElasticsearchIndexManager:
    def __init__(self, client, options, mapping):
        self.client = client
        self.options = options
        self.mapping = mapping
        self.prefix = options.index_prefix
        self._ready = set()

    # --- names -------------------------------------------------------------
    @staticmethod
    def clock():
        return datetime.datetime.now(datetime.UTC)

    @staticmethod
    def synonym_groups():
        return [s.term_list() for s in Synonym.objects.all()]

    def check(self, namespace):
        if not NAMESPACE.match(namespace) or namespace.endswith("-write") or re.search(r"-\d{14}$", namespace):
            raise ValueError(f"{namespace!r} cannot name an Elasticsearch namespace")
        return namespace

    def read_alias(self, namespace):
        return f"{self.prefix}-{self.check(namespace)}"

    def write_alias(self, namespace):
        return f"{self.read_alias(namespace)}-write"

    def _versioned(self, namespace):
        return re.compile(rf"^{re.escape(self.read_alias(namespace))}-(\d{{14}})$")

    def target(self, namespace):
        if "|" not in namespace:
            return ElasticsearchTarget(
                namespace, self.write_alias(namespace), self.read_alias(namespace), namespace, False
            )
        index, fallback_handle = namespace.split("|", 1)
        match = re.match(rf"^{re.escape(self.prefix)}-(.+)-\d{{14}}$", index)
        if not match:
            raise ValueError(f"{namespace!r} is not an Elasticsearch rebuild handle")
        live = match.group(1)
        return ElasticsearchTarget(live, index, f"{self.read_alias(live)},{index}", fallback_handle, True)

    def _admin(self, **kw):
        return self.client.options(request_timeout=float(self.options.write_timeout), **kw)

    def versions(self, namespace):
        """Every versioned index of ``namespace``, oldest first."""
        found = self._admin(ignore_status=404).indices.get_alias(index=f"{self.read_alias(namespace)}-*")
        pattern = self._versioned(namespace)
        return sorted(name for name in found.body if pattern.match(name))

    def _aliased(self, namespace):
        names = f"{self.read_alias(namespace)},{self.write_alias(namespace)}"
        found = self._admin(ignore_status=404).indices.get_alias(name=names)
        return {
            index: sorted(info["aliases"])
            for index, info in found.body.items()
            if isinstance(info, dict) and info.get("aliases")
        }

    # --- creating ----------------------------------------------------------
    def _new_name(self, namespace):
        stamp = self.clock().replace(microsecond=0)
        while True:
            name = f"{self.read_alias(namespace)}-{stamp.strftime(STAMP)}"
            if not self._admin().indices.exists(index=name):
                return name
            stamp += datetime.timedelta(seconds=1)

    def _create(self, name, dims, *, building=False, aliases=None):
        rules = self.mapping.synonym_rules(self.synonym_groups())
        body = self.mapping.index_body(name, dims, rules, building=building, aliases=aliases)
        self._admin().indices.create(index=name, **body)

    def ensure(self, namespace, dims):
        """Create the namespace's first index (with both aliases) unless it exists."""
        if namespace in self._ready:
            return
        write = self.write_alias(namespace)
        if not self._admin().indices.exists_alias(name=write):
            aliases = {self.read_alias(namespace): {}, write: {"is_write_index": True}}
            try:
                self._create(self._new_name(namespace), dims, aliases=aliases)
            except ApiError:
                # Another worker may have created it first: a second write
                # index for the alias is refused, which is what we want.
                if not self._admin().indices.exists_alias(name=write):
                    raise
        self._ready.add(namespace)

    def forget(self, namespace):
        self._ready.discard(namespace)

    # --- rebuilding ----------------------------------------------------------
    def start_rebuild(self, namespace, dims):
        name = self._new_name(namespace)
        self._create(name, dims, building=True)
        logger.info("building %s for namespace %s", name, namespace)
        return name

    def finish_rebuild(self, namespace, name):
        admin = self._admin()
        admin.indices.put_settings(
            index=name,
            settings={"index": {"number_of_replicas": int(self.options.number_of_replicas), "refresh_interval": None}},
        )
        admin.indices.refresh(index=name)
        read, write = self.read_alias(namespace), self.write_alias(namespace)
        old = self._aliased(namespace)
        actions = [{"remove": {"index": index, "alias": alias}} for index, aliases in old.items() for alias in aliases]
        actions += [
            {"add": {"index": name, "alias": read}},
            {"add": {"index": name, "alias": write, "is_write_index": True}},
        ]
        admin.indices.update_aliases(actions=actions)  # one atomic swap
        retired = sorted(index for index in old if index != name)
        if retired:
            admin.indices.delete(index=",".join(retired))
        self._ready.add(namespace)
        logger.info("namespace %s now served by %s (retired: %s)", namespace, name, ", ".join(retired) or "none")

    def drop(self, namespace):
        self.forget(namespace)
        names = self.versions(namespace)
        if names:
            self._admin(ignore_status=404).indices.delete(index=",".join(names))

    def refresh(self, namespace):
        target = self.target(namespace)
        index = target.index if target.rebuilding else target.read
        self._admin(ignore_status=404).indices.refresh(index=index)

    # --- synonyms ------------------------------------------------------------
    def managed(self):
        found = self._admin(ignore_status=404).indices.get_alias(index=f"{self.prefix}-*")
        pattern = re.compile(rf"^{re.escape(self.prefix)}-[a-z0-9_-]+-\d{{14}}$")
        return sorted(name for name in found.body if pattern.match(name))

    def update_synonyms(self):
        """Put the current synonym rules into every index and reload its
        search analyzers. Elasticsearch accepts new analysis settings only on a
        closed index, so each index whose rules changed is closed for the
        moment the update takes (searches answer from the fallback meanwhile)."""
        rules = self.mapping.synonym_rules(self.synonym_groups())
        name_key = self.mapping.synonym_filter_name
        definition = self.mapping.synonym_filter(rules)
        admin, updated = self._admin(), []
        for index in self.managed():
            settings = admin.indices.get_settings(index=index, name=f"index.analysis.filter.{name_key}.synonyms")
            current = settings.body.get(index, {}).get("settings", {})
            current = current.get("index", {}).get("analysis", {}).get("filter", {}).get(name_key, {}).get("synonyms")
            if list(current or []) == rules:
                continue
            admin.indices.close(index=index)
            try:
                admin.indices.put_settings(index=index, settings={"analysis": {"filter": {name_key: definition}}})
            finally:
                admin.indices.open(index=index)
            admin.indices.reload_search_analyzers(index=index)
            admin.indices.clear_cache(index=index, request=True)
            updated.append(index)
        return updated

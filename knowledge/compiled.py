"""One model instance by primary key, without building the query each time.

``Model._default_manager.filter(pk=pk).first()`` spends most of its time in
Python before the database sees it: the ORM compiles the query (for a
knowledge page: about forty columns over the page's table and the tables of
its parents, joined) on every call. A page view did that for the page it
serves, which was about a quarter of a warm page view.

``by_pk(model, pk)`` compiles that query once per model and database
connection, then only runs it: the same SQL and the same rows, turned into
an instance the way the ORM's own iterator does (the field converters, then
``Model.from_db``). It returns what ``filter(pk=pk).first()`` would, with
its default manager's filters applied; it is not used, and the ORM is,
where the query would load related objects, deferred or annotated columns,
or where the key is not an integer.

Compiled queries are kept on the connection object (one per thread), since
a compiler is bound to the connection it was compiled for; they never go
stale while the schema does not change under a running process, which a
migration does not do without a restart.
"""

_SLOT = "_km_compiled_by_pk"


class _Compiled:
    __slots__ = ("sql", "params", "position", "converters", "start", "end", "init_list", "prepare")

    def __init__(self, model, connection):
        queryset = model._default_manager.using(connection.alias).filter(pk=0).order_by()
        compiler = queryset.query.get_compiler(connection=connection)
        sql, params = compiler.as_sql()
        klass_info = compiler.klass_info  # set for every query that loads model instances
        if (compiler.annotation_col_map or klass_info.get("related_klass_infos")
                or queryset.query.deferred_loading != (frozenset(), True)):
            raise _Unsupported(model)
        # compiled for the key 0: the one parameter that is 0 is the key
        positions = [i for i, p in enumerate(params) if type(p) is int and p == 0]
        if len(positions) != 1:  # the manager filters on a literal 0 too, or the key is no integer
            raise _Unsupported(model)
        self.sql, self.params, self.position = sql, list(params), positions[0]
        fields = [s[0] for s in compiler.select[: compiler.col_count]]
        self.converters = list(compiler.get_converters(fields).items())
        select_fields = klass_info["select_fields"]
        self.start, self.end = select_fields[0], select_fields[-1] + 1
        self.init_list = [f[0].target.attname for f in compiler.select[self.start : self.end]]
        pk_field = model._meta.pk
        self.prepare = lambda value: pk_field.get_db_prep_value(pk_field.get_prep_value(value), connection)


class _Unsupported(Exception):
    pass


def by_pk(model, pk, using="default"):
    """``model``'s instance with primary key ``pk``, or None: the row
    ``model._default_manager.filter(pk=pk).first()`` would return."""
    from django.db import connections

    connection = connections[using]
    compiled_for = connection.__dict__.setdefault(_SLOT, {})
    compiled = compiled_for.get(model)
    if compiled is None:
        try:
            compiled = _Compiled(model, connection)
        except _Unsupported:
            compiled = False
        compiled_for[model] = compiled
    if compiled is False:
        return model._default_manager.using(using).filter(pk=pk).first()
    params = list(compiled.params)
    params[compiled.position] = compiled.prepare(pk)
    with connection.cursor() as cursor:
        cursor.execute(compiled.sql, params)
        row = cursor.fetchone()
    if row is None:
        return None
    if compiled.converters:
        row = list(row)
        for position, (converters, expression) in compiled.converters:
            value = row[position]
            for converter in converters:
                value = converter(value, expression, connection)
            row[position] = value
    return model.from_db(using, compiled.init_list, row[compiled.start : compiled.end])

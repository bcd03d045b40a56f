-- Least privilege: three group roles that login roles are granted to (README,
-- "Roles"). What each may do is granted in sql/zz_grants.sql, re-applied on
-- every migrate after all functions exist.
--   parley_app     executes the write functions, nothing else
--   parley_worker  what `npm run worker` needs
--   parley_reader  reads parley's tables and views
--
-- Roles belong to the whole cluster while migrations run per database, often
-- several at once (one per test database): create each one only if it is
-- missing, and take a concurrent creation as success. NOLOGIN: nobody logs in
-- as a group; `create role app login password '...'; grant parley_app to app;`.
-- A migrating user without CREATEROLE fails here with the statements a DBA
-- runs once; roles that already exist are left as they are.
do $$
declare
  wanted text;
begin
  foreach wanted in array array['parley_app', 'parley_worker', 'parley_reader'] loop
    if not exists (select from pg_catalog.pg_roles where rolname = wanted) then
      begin
        execute format('create role %I nologin', wanted);
      exception
        when duplicate_object or unique_violation then
          null;  -- another database's migration created it first
        when insufficient_privilege then
          raise exception 'parley: cannot create role % (the migrating user lacks CREATEROLE)', wanted
            using errcode = '42501',
                  hint = 'As a superuser run: create role parley_app nologin; create role parley_worker nologin; create role parley_reader nologin; then migrate again.';
      end;
    end if;
  end loop;
end
$$;

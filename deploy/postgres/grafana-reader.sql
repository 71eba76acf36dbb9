-- A read-only PostgreSQL role for Grafana's SQL panels.
--
-- psql variables (psql -v name=value):
--   reader_role      role to create or update, e.g. grafana_reader
--   reader_password  its password
--   owner_role       the role that runs the migrations and so owns the tables (e.g. facility)
--
-- The role can log in, read every table the owner creates now or later (default privileges),
-- and nothing else: its sessions are read-only and time-limited. Tables holding secrets or
-- personal data (users, outbox, deliveries) are kept from it by an event trigger that revokes
-- its access whenever one of them is created, because `facility db upgrade` creates them after
-- this script has run. Safe to run again.
\set ON_ERROR_STOP on

SELECT format('CREATE ROLE %I LOGIN PASSWORD %L', :'reader_role', :'reader_password')
WHERE NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = :'reader_role') \gexec
SELECT format('ALTER ROLE %I LOGIN PASSWORD %L', :'reader_role', :'reader_password') \gexec

ALTER ROLE :"reader_role" SET default_transaction_read_only = on;
ALTER ROLE :"reader_role" SET statement_timeout = '30s';
ALTER ROLE :"reader_role" CONNECTION LIMIT 20;

SELECT format('GRANT CONNECT ON DATABASE %I TO %I', current_database(), :'reader_role') \gexec
GRANT USAGE ON SCHEMA public TO :"reader_role";
GRANT SELECT ON ALL TABLES IN SCHEMA public TO :"reader_role";
ALTER DEFAULT PRIVILEGES FOR ROLE :"owner_role" IN SCHEMA public
    GRANT SELECT ON TABLES TO :"reader_role";

-- Keep secrets away from the reader, now and for tables created later.
SELECT format($sql$
CREATE OR REPLACE FUNCTION public.facility_hide_secrets_from_%s() RETURNS event_trigger
LANGUAGE plpgsql AS $body$
DECLARE
    created record;
BEGIN
    FOR created IN SELECT object_identity FROM pg_event_trigger_ddl_commands()
                   WHERE command_tag = 'CREATE TABLE' LOOP
        IF created.object_identity IN ('public.users', 'public.outbox', 'public.deliveries') THEN
            EXECUTE format('REVOKE ALL ON %%s FROM %I', created.object_identity);
        END IF;
    END LOOP;
END
$body$
$sql$, md5(:'reader_role'), :'reader_role') \gexec

SELECT format('DROP EVENT TRIGGER IF EXISTS %I', 'facility_hide_secrets_' || md5(:'reader_role')) \gexec
SELECT format(
    'CREATE EVENT TRIGGER %I ON ddl_command_end WHEN TAG IN (''CREATE TABLE'') '
    'EXECUTE FUNCTION public.facility_hide_secrets_from_%s()',
    'facility_hide_secrets_' || md5(:'reader_role'), md5(:'reader_role')) \gexec

SELECT format('REVOKE ALL ON %s FROM %I', t, :'reader_role')
FROM unnest(ARRAY['public.users', 'public.outbox', 'public.deliveries']) AS t
WHERE to_regclass(t) IS NOT NULL \gexec

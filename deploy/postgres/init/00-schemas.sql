-- One login role and one schema per service; each role has rights on its own schema only.
-- Runs once, as the database owner, when the Postgres data directory is first initialised
-- (the postgres image executes /docker-entrypoint-initdb.d/*.sql against POSTGRES_DB).
--
-- NOTE: the demo/dev path (docker-compose, `make run`) still connects every service and the
-- migrate job with ONE superuser URL (postgresql://tt:tt@postgres:5432/tradetracker). The roles
-- below are what production uses: give each service its own DATABASE_URL with its own role, and
-- keep the owner URL for the migrate job only. The passwords here are development placeholders;
-- in production create the roles with real secrets (or let the Postgres operator manage them).
--
-- Migrations must therefore use CREATE SCHEMA IF NOT EXISTS.

-- Nobody gets anything by default.
REVOKE ALL ON SCHEMA public FROM PUBLIC;

DO $$
DECLARE
    svc text;
    role_name text;
BEGIN
    EXECUTE format('REVOKE ALL ON DATABASE %I FROM PUBLIC', current_database());
    FOREACH svc IN ARRAY ARRAY[
        'gateway', 'identity', 'broker', 'market_data',
        'chart_render', 'ai_analysis', 'strategy', 'billing'
    ]
    LOOP
        role_name := 'tt_' || svc;
        IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = role_name) THEN
            EXECUTE format('CREATE ROLE %I LOGIN PASSWORD %L', role_name, role_name);
        END IF;
        EXECUTE format('GRANT CONNECT ON DATABASE %I TO %I', current_database(), role_name);

        -- The schema belongs to the service role: it can create and change its own tables
        -- and nothing else. It cannot even look at another service's schema.
        EXECUTE format('CREATE SCHEMA IF NOT EXISTS %I AUTHORIZATION %I', svc, role_name);
        EXECUTE format('REVOKE ALL ON SCHEMA %I FROM PUBLIC', svc);
        EXECUTE format('ALTER ROLE %I SET search_path = %I', role_name, svc);

        -- Tables created later by the database owner (the dev/demo migrate job) stay usable
        -- by the service role.
        EXECUTE format(
            'ALTER DEFAULT PRIVILEGES FOR ROLE %I IN SCHEMA %I '
            'GRANT SELECT, INSERT, UPDATE, DELETE, TRUNCATE, REFERENCES, TRIGGER ON TABLES TO %I',
            current_user, svc, role_name);
        EXECUTE format(
            'ALTER DEFAULT PRIVILEGES FOR ROLE %I IN SCHEMA %I '
            'GRANT USAGE, SELECT, UPDATE ON SEQUENCES TO %I',
            current_user, svc, role_name);
    END LOOP;
END
$$;

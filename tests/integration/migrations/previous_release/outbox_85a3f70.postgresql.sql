-- Dolmen's outbox as the release at commit 85a3f70 created it on PostgreSQL (its start-up:
-- create_all and the NOTIFY trigger), with one pending delivery. Made with pg_dump from a
-- database that code created; the COPY turned into an INSERT.
CREATE SCHEMA dolmen;
CREATE FUNCTION dolmen.dolmen__deliveries_notify() RETURNS trigger
    LANGUAGE plpgsql
    AS $$ BEGIN NOTIFY dolmen_outbox; RETURN NULL; END $$;
CREATE TABLE dolmen.dolmen__deliveries (
    id bigint NOT NULL,
    handler character varying(200) NOT NULL,
    ordering_key character varying(200),
    status character varying(10) NOT NULL,
    attempts integer NOT NULL,
    max_attempts integer NOT NULL,
    available_at double precision NOT NULL,
    lease_owner character varying(100),
    lease_until double precision,
    created_at double precision NOT NULL,
    completed_at double precision,
    last_error text,
    traceback text,
    event_id character varying(36) NOT NULL,
    event_type character varying(200) NOT NULL,
    event_version integer NOT NULL,
    source character varying(200) NOT NULL,
    subject character varying(200),
    published_at double precision NOT NULL,
    data text NOT NULL,
    traceparent character varying(64)
);
CREATE SEQUENCE dolmen.dolmen__deliveries_id_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1;
ALTER SEQUENCE dolmen.dolmen__deliveries_id_seq OWNED BY dolmen.dolmen__deliveries.id;
ALTER TABLE ONLY dolmen.dolmen__deliveries ALTER COLUMN id SET DEFAULT nextval('dolmen.dolmen__deliveries_id_seq'::regclass);
INSERT INTO dolmen.dolmen__deliveries (id, handler, ordering_key, status, attempts, max_attempts, available_at, lease_owner, lease_until, created_at, completed_at, last_error, traceback, event_id, event_type, event_version, source, subject, published_at, data, traceparent) VALUES (1, 'billing.charge_order', NULL, 'pending', 0, 5, 1, NULL, NULL, 1, NULL, NULL, NULL, '0190c3a0-0000-7000-8000-000000000001', 'orders.OrderPlaced', 1, 'orders', 'o-1', 1, '{"order_id": "o-1"}', NULL);
SELECT pg_catalog.setval('dolmen.dolmen__deliveries_id_seq', 1, true);
ALTER TABLE ONLY dolmen.dolmen__deliveries
    ADD CONSTRAINT pk_dolmen__deliveries PRIMARY KEY (id);
CREATE INDEX ix_dolmen__deliveries_dead ON dolmen.dolmen__deliveries USING btree (handler, id) WHERE ((status)::text = 'dead'::text);
CREATE INDEX ix_dolmen__deliveries_due ON dolmen.dolmen__deliveries USING btree (available_at, id) WHERE ((status)::text = 'pending'::text);
CREATE INDEX ix_dolmen__deliveries_leases ON dolmen.dolmen__deliveries USING btree (lease_until) WHERE ((status)::text = 'running'::text);
CREATE INDEX ix_dolmen__deliveries_ordering ON dolmen.dolmen__deliveries USING btree (handler, ordering_key, id) WHERE (ordering_key IS NOT NULL);
CREATE TRIGGER dolmen__deliveries_notify AFTER INSERT ON dolmen.dolmen__deliveries FOR EACH STATEMENT EXECUTE FUNCTION dolmen.dolmen__deliveries_notify();

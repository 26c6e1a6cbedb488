-- Dolmen's outbox as the release at commit 85a3f70 created it on SQLite (create_all at
-- start-up), with one pending delivery: sqlite3's iterdump of a database that code made.
BEGIN TRANSACTION;
CREATE TABLE dolmen__deliveries (
	id INTEGER NOT NULL, 
	handler VARCHAR(200) NOT NULL, 
	ordering_key VARCHAR(200), 
	status VARCHAR(10) NOT NULL, 
	attempts INTEGER NOT NULL, 
	max_attempts INTEGER NOT NULL, 
	available_at DOUBLE NOT NULL, 
	lease_owner VARCHAR(100), 
	lease_until DOUBLE, 
	created_at DOUBLE NOT NULL, 
	completed_at DOUBLE, 
	last_error TEXT, 
	traceback TEXT, 
	event_id VARCHAR(36) NOT NULL, 
	event_type VARCHAR(200) NOT NULL, 
	event_version INTEGER NOT NULL, 
	source VARCHAR(200) NOT NULL, 
	subject VARCHAR(200), 
	published_at DOUBLE NOT NULL, 
	data TEXT NOT NULL, 
	traceparent VARCHAR(64), 
	CONSTRAINT pk_dolmen__deliveries PRIMARY KEY (id)
);
INSERT INTO "dolmen__deliveries" VALUES(1,'billing.charge_order',NULL,'pending',0,5,1.0,NULL,NULL,1.0,NULL,NULL,NULL,'0190c3a0-0000-7000-8000-000000000001','orders.OrderPlaced',1,'orders','o-1',1.0,'{"order_id": "o-1"}',NULL);
CREATE INDEX ix_dolmen__deliveries_dead ON dolmen__deliveries (handler, id) WHERE status = 'dead';
CREATE INDEX ix_dolmen__deliveries_leases ON dolmen__deliveries (lease_until) WHERE status = 'running';
CREATE INDEX ix_dolmen__deliveries_due ON dolmen__deliveries (available_at, id) WHERE status = 'pending';
CREATE INDEX ix_dolmen__deliveries_ordering ON dolmen__deliveries (handler, ordering_key, id) WHERE ordering_key IS NOT NULL;
COMMIT;

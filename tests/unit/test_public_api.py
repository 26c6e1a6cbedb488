"""Each package's public names are curated: sorted, importable, and exactly these."""

import importlib

import pytest

EXPECTED = {
    "dolmen": [
        "App", "CompositionError", "Event", "EventPublisher", "Extension", "Inject", "Lifetime",
        "Module",
        "ModuleTables", "UnitOfWork", "Work", "__version__", "on", "problem_responses", "provide",
        "provide_value",
    ],
    "dolmen.modules": [
        "App", "CompositionError", "DeliveryInterceptor", "DependencyCycleError",
        "DuplicateModuleError", "EventRoutes", "Extension", "Handler", "Module", "Subscription",
        "UnknownDependencyError", "Work", "on",
    ],
    "dolmen.di": [
        "CallInterceptor", "Container", "CrossModuleHook", "CrossModuleResolution", "Interceptor",
        "InterceptorRole", "Lifetime", "MissingProviderError", "ModuleCall", "NotVisibleError",
        "Parameter", "Provider", "ProviderConfigurationError", "ResolutionError", "ServiceProxy",
        "ServiceScope", "parameters_of", "provide", "provide_value",
    ],
    "dolmen.http": [
        "PROBLEM_JSON", "REQUEST_ID_KEY", "HealthProbes", "Inject", "ProblemError",
        "RequestWork", "ServedApp", "ServedModule", "UnitOfWorkMiddleware", "answer_failure",
        "content_length", "create_fastapi", "endpoint_modules", "injected_keys",
        "new_request_id", "problem", "problem_responses", "route_of", "route_templates",
        "too_large_detail",
    ],
    "dolmen.persistence": [
        "CrossModuleDataAccessError", "Database", "DatabaseBusyError", "DatabaseConfigurationError",
        "ModuleSession",
        "ModuleTables", "PersistenceError", "ReadOnlyWorkError", "SQLiteConnection", "UnitOfWork",
        "UnitOfWorkClosedError",
        "is_unique_violation", "normalize_url", "schema_change", "sqlstate",
    ],
    "dolmen.events": [
        "MOST_IN_A_BATCH", "OUTBOX_TABLES", "SLOW_DELIVERY_SECONDS", "BatchRunner", "Claimed",
        "Clock", "DeadLetter", "DeliveryContext", "DeliveryQueue", "DeliveryStore",
        "Dispatcher", "Envelope", "Event", "EventAdmin", "EventBackend",
        "EventDeclarationError", "EventPublisher", "EventSettings", "ForeignEventError",
        "HandlerStats", "InMemoryDeliveryStore", "Inbox", "LeaseLost", "LockFileError",
        "ModulePublisher", "NewDelivery", "NonRetryable", "Outbox", "OutboxError", "Outcome",
        "PendingEvents", "PoisonEvent", "Retry", "Runner", "Selection", "SqlDeliveryStore",
        "SystemClock", "UpcastError", "Wakeup",
    ],
    "dolmen.config": [
        "AppSettings", "ConfigSection", "ConfigurationError", "LoadedConfig", "Problem", "Secret",
        "Setting", "Source", "SourceKind", "load_config", "mask_credentials",
    ],
    "dolmen.events.lock": [
        "LOCK_VERSION", "Declaring", "SchemaProblem", "Subscribing", "compare", "event_classes",
        "lock_document", "parse_lock", "read_lock", "render_lock", "stale", "write_lock",
    ],
    "dolmen.config.report": [
        "Difference", "SchemaRow", "diff", "schema_json", "schema_markdown", "schema_rows",
        "show_json", "show_text",
    ],
    "dolmen.check": [
        "DEFAULT_EVENTS_LOCK", "RawImport", "Report", "UnreadableFile", "answer", "dot",
        "mermaid", "remember", "replay", "run_check", "scan", "write_baseline",
    ],
    "dolmen.cli": ["cli", "main"],
    "dolmen.units": [
        "DEFAULT_PARTITIONS", "FORWARD_RETRY", "KEEP_RECEIVED_SECONDS", "SINGLE_UNIT",
        "Backlog", "BrokerEvents", "CrossUnitCall", "Forwarding", "InMemoryBroker",
        "InMemoryTransport", "Intake", "LagProbe", "LocalHandler", "MeasuresLag", "NatsTransport",
        "OnBatch", "RabbitMQTransport", "RedisTransport", "Relay",
        "RemoteCallError", "RemoteCallTimeout", "RemoteCalls", "RemoteCallsUnavailable",
        "RemoteUnitUnreachable", "Topology", "TopologyError", "Transport", "TransportError",
        "TransportSubscription", "Unit", "UnitLag", "UnitSettings", "Units", "UnitsSettings",
        "broker_destination", "forward_handler", "idempotent", "partition_of", "transport_for",
    ],
    "dolmen.units.deploy": [
        "Database", "DeployError", "Deployment", "compose_file", "compose_header",
        "deployed_topology", "dump_yaml",
        "kubernetes_header", "kubernetes_manifests", "secret_keys", "secret_name",
    ],
    "dolmen.observability": [
        "LogContextFilter", "Observability", "ObservabilitySettings", "Redactor", "SpanRecord",
        "TraceBuffer", "TraceSummary", "current_request_id",
    ],
    "dolmen.migrations": [
        "CrossModuleMigrationError", "MigrationError", "MigrationHistory", "Migrations",
        "SchemaNotCurrentError", "dolmen_history", "module_history", "prepare_schema",
        "scratch_database",
    ],
    "dolmen.scaffold": [
        "EXAMPLE_MODULE", "InvalidNameError", "NewModule", "NewProject", "Project",
        "RegistrationError", "ScaffoldError", "add_module", "check_module_name",
        "check_project_name", "create_project",
    ],
}  # fmt: skip


def isort_style(name: str) -> tuple[int, str]:
    """Constants, then classes, then everything else (ruff's RUF022 order)."""
    if name.isupper():
        return (0, name)
    return (1, name) if name[:1].isupper() else (2, name)


@pytest.mark.parametrize("package", sorted(EXPECTED))
def test_each_package_exports_exactly_its_sorted_public_names(package: str) -> None:
    module = importlib.import_module(package)
    assert module.__all__ == sorted(module.__all__, key=isort_style)
    assert module.__all__ == EXPECTED[package]
    for name in module.__all__:
        assert getattr(module, name) is not None

from tenantry.audit.service import record, record_own

__all__ = ["record", "record_own"]

-- Issue #13: the portal's permission pages and Graph's appRoleAssignedTo read the assignments in one
-- resource's roles by index (the principal's side has had its index since 0004 and 0014), not the
-- tenant's every assignment.
CREATE INDEX app_role_assignments_resource ON app_role_assignments (resource_id);
CREATE INDEX user_app_role_assignments_resource ON user_app_role_assignments (resource_id);

-- Issue #12: Azure's own resources (Resource Manager, Key Vault, Storage, SQL, Service Bus, Event Hubs,
-- Cosmos DB, App Configuration) in every tenant made before this version, as new tenants get them
-- (gatehouse_core::admin::azure_resources). The stored document is a skeleton: names, display name and
-- permissions are the program's and are filled in when it is read. Their names are claimed as
-- Microsoft Graph's are: first, so an application that held one loses it.
CREATE TEMP TABLE azure_resources (app_id TEXT, display_name TEXT);
INSERT INTO azure_resources VALUES
       ('797f4846-ba00-4fd7-ba43-dac1f8f63013', 'Windows Azure Service Management API'),
       ('cfa8b339-82a2-471a-a3c9-0fc0be7a4093', 'Azure Key Vault'),
       ('e406a681-f3d4-42a8-90b6-c2b029497af1', 'Azure Storage'),
       ('022907d3-0f1b-48f7-badc-1ba6abab6d66', 'Azure SQL Database'),
       ('80a10ef9-8168-493d-abf9-3297c4ef6e3c', 'Microsoft.ServiceBus'),
       ('80369ed6-5f11-4dd9-bef3-692475845e77', 'Microsoft.EventHubs'),
       ('a232010e-820c-4083-83bb-3ace5fc29d0b', 'Azure Cosmos DB'),
       ('35ffadb3-7fc1-497e-b61b-381d28e744cc', 'Azure App Configuration');

CREATE TEMP TABLE azure_names (app_id TEXT, name TEXT);
INSERT INTO azure_names VALUES
       ('797f4846-ba00-4fd7-ba43-dac1f8f63013', 'https://management.azure.com'),
       ('797f4846-ba00-4fd7-ba43-dac1f8f63013', 'https://management.core.windows.net'),
       ('cfa8b339-82a2-471a-a3c9-0fc0be7a4093', 'https://vault.azure.net'),
       ('e406a681-f3d4-42a8-90b6-c2b029497af1', 'https://storage.azure.com'),
       ('022907d3-0f1b-48f7-badc-1ba6abab6d66', 'https://database.windows.net'),
       ('80a10ef9-8168-493d-abf9-3297c4ef6e3c', 'https://servicebus.azure.net'),
       ('80369ed6-5f11-4dd9-bef3-692475845e77', 'https://eventhubs.azure.net'),
       ('a232010e-820c-4083-83bb-3ace5fc29d0b', 'https://cosmos.azure.com'),
       ('35ffadb3-7fc1-497e-b61b-381d28e744cc', 'https://azconfig.io'),
       ('35ffadb3-7fc1-497e-b61b-381d28e744cc', 'https://appconfig.azure.com');

CREATE TEMP TABLE azure_new AS
SELECT lower(hex(randomblob(4)) || '-' || hex(randomblob(2)) || '-4' || substr(hex(randomblob(2)), 2) || '-'
             || substr('89ab', 1 + (abs(random()) % 4), 1) || substr(hex(randomblob(2)), 2) || '-'
             || hex(randomblob(6))) AS id,
       t.id AS tenant_id, r.app_id, r.display_name
FROM tenants t, azure_resources r
WHERE NOT EXISTS (SELECT 1 FROM service_principals sp WHERE sp.tenant_id = t.id AND sp.app_id = r.app_id);

INSERT INTO service_principals (id, tenant_id, app_id, doc)
SELECT ms.id, ms.tenant_id, ms.app_id,
       '{"id":"' || ms.id || '","accountEnabled":true,"appDisplayName":"' || ms.display_name || '","appId":"' || ms.app_id || '","appOwnerOrganizationId":"' || ms.tenant_id || '","appRoleAssignmentRequired":false,"displayName":"' || ms.display_name || '","replyUrls":[],"servicePrincipalNames":[],"servicePrincipalType":"Application","tags":[],"appRoles":[],"keyCredentials":[],"oauth2PermissionScopes":[],"passwordCredentials":[]}'
FROM azure_new ms;

INSERT INTO resource_names (tenant_id, name, app_id)
SELECT t.id, n.name, n.app_id
FROM tenants t, azure_names n
WHERE true
ON CONFLICT (tenant_id, name) DO UPDATE SET app_id = excluded.app_id;

DROP TABLE azure_new;
DROP TABLE azure_resources;
DROP TABLE azure_names;

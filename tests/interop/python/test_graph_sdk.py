"""Microsoft's Graph SDK for Python (msgraph-sdk, kiota), unmodified, against Gatehouse's Graph API.

Two settings point it at Gatehouse, as for any national cloud: the request adapter's base URL
(`{server}/v1.0`) and the scope (`https://graph.microsoft.com/.default`; kiota would otherwise ask for
`https://{host}/.default` without the port). Everything else is the SDK's own code: percent-encoded
query options, `$top`/`$select` paging through `@odata.nextLink` with its PageIterator, `$count` with
`ConsistencyLevel`, and `/$count` as text.
"""
import asyncio
import json
import os
import uuid

from azure.identity.aio import ClientSecretCredential
from kiota_abstractions.base_request_configuration import RequestConfiguration
from msgraph import GraphServiceClient
from msgraph.generated.applications.applications_request_builder import ApplicationsRequestBuilder
from msgraph.generated.applications.count.count_request_builder import CountRequestBuilder
from msgraph.generated.models.application import Application
from msgraph.generated.models.application_collection_response import ApplicationCollectionResponse
from msgraph.generated.models.service_principal import ServicePrincipal
from msgraph_core.tasks.page_iterator import PageIterator

FIX = json.load(open(os.environ["GATEHOUSE_FIXTURE"]))


def graph(cred):
    client = GraphServiceClient(cred, scopes=["https://graph.microsoft.com/.default"])
    client.request_adapter.base_url = f"{FIX['base']}/v1.0"
    return client


def credential():
    return ClientSecretCredential(FIX["tenant_id"], FIX["admin_id"], FIX["admin_secret"],
                                  authority=FIX["base"], disable_instance_discovery=True)


def test_msgraph_sdk_drives_applications_with_paging_select_filter_and_count():
    async def run():
        async with credential() as cred:
            client = graph(cred)
            prefix = f"sdk-{uuid.uuid4().hex[:6]}"
            made = []
            for i in range(5):
                app = await client.applications.post(Application(display_name=f"{prefix}-{i}"))
                made.append(app)
            assert all(a.app_id for a in made)

            # $top=2 and $select, every page followed by the SDK's PageIterator.
            config = RequestConfiguration(query_parameters=ApplicationsRequestBuilder.ApplicationsRequestBuilderGetQueryParameters(
                top=2, select=["id", "displayName"], filter=f"startswith(displayName,'{prefix}')"))
            first = await client.applications.get(request_configuration=config)
            assert len(first.value) == 2 and first.odata_next_link.startswith(FIX["base"])
            assert first.value[0].app_id is None, "$select left appId out"
            seen = []
            iterator = PageIterator(first, client.request_adapter)
            await iterator.iterate(lambda a: seen.append(a.display_name) or True)
            assert sorted(seen) == [f"{prefix}-{i}" for i in range(5)]

            # $count with ConsistencyLevel: eventual, and /$count as text.
            config = RequestConfiguration(query_parameters=ApplicationsRequestBuilder.ApplicationsRequestBuilderGetQueryParameters(
                count=True, filter=f"startswith(displayName,'{prefix}')", top=1))
            config.headers.add("ConsistencyLevel", "eventual")
            counted = await client.applications.get(request_configuration=config)
            assert counted.odata_count == 5
            count_config = RequestConfiguration(query_parameters=CountRequestBuilder.CountRequestBuilderGetQueryParameters(
                filter=f"startswith(displayName,'{prefix}')"))
            count_config.headers.add("ConsistencyLevel", "eventual")
            assert await client.applications.count.get(request_configuration=count_config) == 5

            # A service principal by the alternate key, then clean up.
            sp = await client.service_principals.post(ServicePrincipal(app_id=made[0].app_id))
            by_app_id = await client.service_principals_with_app_id(made[0].app_id).get()
            assert by_app_id.id == sp.id
            await client.service_principals.by_service_principal_id(sp.id).delete()
            for a in made:
                await client.applications.by_application_id(a.id).delete()
            left = await client.applications.get(request_configuration=RequestConfiguration(
                query_parameters=ApplicationsRequestBuilder.ApplicationsRequestBuilderGetQueryParameters(
                    filter=f"startswith(displayName,'{prefix}')")))
            assert left.value == []
    asyncio.run(run())


def test_msgraph_sdk_reads_the_audit_and_sign_in_logs():
    """The SDK's own models parse both logs: a write it made is in the audit log, with its target and
    who made it, paged by its PageIterator; the token its credential got is in the sign-in log."""
    from msgraph.generated.audit_logs.directory_audits.directory_audits_request_builder import (
        DirectoryAuditsRequestBuilder)
    from msgraph.generated.audit_logs.sign_ins.sign_ins_request_builder import SignInsRequestBuilder

    async def run():
        async with credential() as cred:
            client = graph(cred)
            name = f"audited-{uuid.uuid4().hex[:6]}"
            app = await client.applications.post(Application(display_name=name))
            await client.applications.by_application_id(app.id).delete()

            query = DirectoryAuditsRequestBuilder.DirectoryAuditsRequestBuilderGetQueryParameters(
                filter=f"initiatedBy/app/appId eq '{FIX['admin_id']}' and category eq 'ApplicationManagement'",
                top=2)
            first = await client.audit_logs.directory_audits.get(
                request_configuration=RequestConfiguration(query_parameters=query))
            assert len(first.value) == 2 and first.odata_next_link.startswith(FIX["base"])
            records = []
            await PageIterator(first, client.request_adapter).iterate(lambda r: records.append(r) or True)
            added = [r for r in records if r.activity_display_name == "Add application"
                     and r.target_resources and r.target_resources[0].display_name == name]
            assert len(added) == 1, [r.activity_display_name for r in records]
            record = added[0]
            assert record.target_resources[0].id == app.id
            assert record.initiated_by.app.app_id == FIX["admin_id"]
            assert record.result.value == "success"
            assert record.activity_date_time is not None
            deleted = [r for r in records if r.activity_display_name == "Delete application"
                       and r.target_resources and r.target_resources[0].id == app.id]
            assert len(deleted) == 1

            # The sign-in log is written a moment after the token: wait for it.
            query = SignInsRequestBuilder.SignInsRequestBuilderGetQueryParameters(
                filter=f"appId eq '{FIX['admin_id']}' and status/errorCode eq 0", top=5)
            for _ in range(50):
                sign_ins = await client.audit_logs.sign_ins.get(
                    request_configuration=RequestConfiguration(query_parameters=query))
                if sign_ins.value:
                    break
                await asyncio.sleep(0.1)
            assert sign_ins.value, "the credential's token is in the sign-in log"
            s = sign_ins.value[0]
            assert s.app_id == FIX["admin_id"] and s.status.error_code == 0
            assert s.client_app_used == "client_credentials" and s.created_date_time is not None
    asyncio.run(run())

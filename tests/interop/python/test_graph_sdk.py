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

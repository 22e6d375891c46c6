// One Event Grid subscription per ACS event family, each to that family's function.
// Deployed after the code is published: Event Grid validates an AzureFunction endpoint by looking the
// function up, so the function must exist and be indexed first. Deploy to the system topic's group.
targetScope = 'resourceGroup'

@description('Name of the Event Grid system topic on the ACS resource (created by main.bicep).')
param systemTopicName string

@description('Resource ID of the function app (Microsoft.Web/sites).')
param functionAppId string

@description('Resource ID of the ledger storage account that holds the dead-letter container.')
param deadLetterStorageAccountId string

@description('Dead-letter blob container in that account.')
param deadLetterContainerName string

@description('Delivery attempts before an event is dead-lettered (Event Grid default: 30).')
@minValue(1)
@maxValue(30)
param maxDeliveryAttempts int = 30

@description('Minutes Event Grid keeps retrying an event before it is dead-lettered (Event Grid default: 1440).')
@minValue(1)
@maxValue(1440)
param eventTimeToLiveInMinutes int = 1440

@description('Schema of delivered events. The functions read the Event Grid schema.')
@allowed([
  'EventGridSchema'
  'CloudEventSchemaV1_0'
])
param eventDeliverySchema string = 'EventGridSchema'

// Generated from src/catalog (npm run gen:infra): families, function names and exact event types.
var catalog = loadJsonContent('event-types.json')

resource topic 'Microsoft.EventGrid/systemTopics@2025-02-15' existing = {
  name: systemTopicName
}

resource subscriptions 'Microsoft.EventGrid/systemTopics/eventSubscriptions@2025-02-15' = [
  for family in catalog.families: {
    parent: topic
    name: family.subscriptionName
    properties: {
      eventDeliverySchema: eventDeliverySchema
      destination: {
        endpointType: 'AzureFunction'
        properties: {
          resourceId: '${functionAppId}/functions/${family.functionName}'
          // The host resends a whole batch when one event in it fails, so deliver one at a time.
          maxEventsPerBatch: 1
        }
      }
      filter: {
        includedEventTypes: family.eventTypes
      }
      retryPolicy: {
        maxDeliveryAttempts: maxDeliveryAttempts
        eventTimeToLiveInMinutes: eventTimeToLiveInMinutes
      }
      // The topic's own identity writes dead letters (main.bicep grants it the container).
      deadLetterWithResourceIdentity: {
        identity: {
          type: 'SystemAssigned'
        }
        deadLetterDestination: {
          endpointType: 'StorageBlob'
          properties: {
            resourceId: deadLetterStorageAccountId
            blobContainerName: deadLetterContainerName
          }
        }
      }
    }
  }
]

output subscriptionNames array = [for (family, i) in catalog.families: subscriptions[i].name]

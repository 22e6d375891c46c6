// The Event Grid system topic for an ACS resource. Deployed as a module so that it can live in the
// resource group of a topic that already exists (a source can have only one system topic).
// Declaring an existing topic again is an update: it keeps its subscriptions and gains an identity.

@description('System topic name.')
param name string

@description('Resource ID of the Azure Communication Services resource.')
param acsResourceId string

resource topic 'Microsoft.EventGrid/systemTopics@2025-02-15' = {
  name: name
  // ACS is a global resource, and a system topic sits where its source does.
  location: 'global'
  identity: {
    // Used to write dead letters with Entra ID instead of a storage key.
    type: 'SystemAssigned'
  }
  properties: {
    source: acsResourceId
    topicType: 'Microsoft.Communication.CommunicationServices'
  }
}

output id string = topic.id
output principalId string = topic.identity.principalId

// The ACS event ledger, all but the Event Grid subscriptions:
//   ledger storage (tables + dead-letter container), host storage, Flex Consumption function app,
//   Application Insights, and the Event Grid system topic on an existing ACS resource.
// The subscriptions are in subscriptions.bicep: Event Grid accepts an AzureFunction endpoint only once
// the function exists and is indexed, so scripts/deploy.ts creates them after publishing the code.
// Nothing here holds a key: every caller authenticates with a managed identity.
targetScope = 'resourceGroup'

@description('Region for everything except the system topic (ACS is global, so is its topic). It must offer Flex Consumption.')
param location string = resourceGroup().location

@description('Short prefix for resource names (lowercase letters, digits, hyphens).')
@minLength(2)
@maxLength(12)
param namePrefix string = 'acsledger'

@description('Resource ID of the existing Azure Communication Services resource whose events the ledger records.')
param acsResourceId string

@description('Name of the Event Grid system topic on the ACS resource. A source can have only one system topic: pass the existing one to reuse it.')
param systemTopicName string = '${namePrefix}-acs-events'

@description('Resource group of the system topic (same subscription). Defaults to this one.')
param systemTopicResourceGroup string = resourceGroup().name

@description('Blob container that receives events Event Grid could not deliver.')
param deadLetterContainerName string = 'eventgrid-deadletters'

@description('Node.js major version of the Functions runtime. 22: Node 20 reached its end of life in April 2026, and the Azure SDK packages the app uses declare node >= 22.')
@allowed([
  '22'
])
param nodeVersion string = '22'

@description('Flex Consumption scale-out limit.')
@minValue(40)
@maxValue(1000)
param maximumInstanceCount int = 100

@description('Flex Consumption instance memory.')
@allowed([
  512
  2048
  4096
])
param instanceMemoryMB int = 2048

@description('Optional object ID of a person or group who reads the ledger and replays dead letters (granted table and blob data roles on the ledger account).')
param operatorPrincipalId string = ''

@description('Optional alert rule on Application Insights: fires on new schema drift (a data property path no schema names) or on a rise in quarantined events. Off by default.')
param enableDriftAlert bool = false

@description('Action groups (resource IDs) the drift alert notifies. Without any, the alert shows in the portal only.')
param driftAlertActionGroupIds array = []

@description('Quarantines in an hour count as a rise above this many, and above 3 times the hourly average of the two days before.')
@minValue(1)
param quarantineAlertFloor int = 10

@description('Optional: the client (application) ID of a Microsoft Entra app registration. When set, App Service Authentication signs every user in with Entra ID before the read API and the viewer answer (the function key is still required); the Event Grid webhook stays key-only. Its client secret goes in the app setting MICROSOFT_PROVIDER_AUTHENTICATION_SECRET. Off (empty) by default.')
param viewerAuthClientId string = ''

@description('The Entra tenant of that app registration (default: the deployment\'s tenant).')
param viewerAuthTenantId string = tenant().tenantId

@description('Families whose tables get a storage account of their own (the app setting LEDGER_STORAGE_<FAMILY>); the others, the quarantine and the dead letters stay in the ledger account.')
@allowed([
  'sms'
  'chat'
  'calling'
  'presence'
])
param familyAccounts array = []

// Built-in role definition IDs.
var roles = {
  storageBlobDataOwner: 'b7e6dc6d-f1e8-4753-8033-0f276bb0955b'
  storageBlobDataContributor: 'ba92f5b4-2d11-453d-a403-e96b0029c9fe'
  storageTableDataContributor: '0a9a7e1f-b9d0-4cc4-a60d-0319b160aaa3'
  monitoringMetricsPublisher: '3913510d-42f4-4e42-8a64-420c390055eb'
}

// Same resource group and prefix give the same names, so a second deployment updates in place.
var token = uniqueString(resourceGroup().id, namePrefix)
var compactPrefix = toLower(replace(namePrefix, '-', ''))
var ledgerStorageName = take('${compactPrefix}led${token}', 24)
var hostStorageName = take('${compactPrefix}fn${token}', 24)
var functionAppName = '${namePrefix}-func-${token}'
var deploymentContainerName = 'app-package'
// Generated from src/catalog (npm run gen:infra); the tables exist before the first event arrives.
var ledgerTables = loadJsonContent('ledger-tables.json').tables
var familyTables = loadJsonContent('ledger-tables.json').familyTables
// The tables of families with an account of their own live there, and only there.
var splitTables = flatten(map(familyAccounts, family => familyTables[family]))
var splitTableRows = flatten(map(familyAccounts, family => map(familyTables[family], table => { family: family, table: table })))
// The chat subscription (subscriptions.bicep, from the same event-types.json) includes the thread-level
// events, so they alone update the chat state rows, and a message's per-recipient copies only add their
// own rows (LEDGER_CHAT_STATE_FROM; README "Order and redelivery").
var chatTypes = flatten(map(filter(loadJsonContent('event-types.json').families, f => f.family == 'chat'), f => f.eventTypes))
var chatStateFrom = contains(chatTypes, 'Microsoft.Communication.ChatMessageReceivedInThread') ? 'thread' : 'all'

// ---------------------------------------------------------------------------------------------
// Ledger storage: the tables and the dead-letter container. Kept apart from the host's account so
// that the app's identity gets only table rights here, and the ledger's data outlives the app.
// ---------------------------------------------------------------------------------------------
resource ledgerStorage 'Microsoft.Storage/storageAccounts@2023-05-01' = {
  name: ledgerStorageName
  location: location
  sku: {
    name: 'Standard_LRS'
  }
  kind: 'StorageV2'
  properties: {
    minimumTlsVersion: 'TLS1_2'
    supportsHttpsTrafficOnly: true
    allowBlobPublicAccess: false
    // Entra ID only: no account key can reach the ledger.
    allowSharedKeyAccess: false
    defaultToOAuthAuthentication: true
  }
}

resource ledgerTableService 'Microsoft.Storage/storageAccounts/tableServices@2023-05-01' = {
  parent: ledgerStorage
  name: 'default'
}

resource tables 'Microsoft.Storage/storageAccounts/tableServices/tables@2023-05-01' = [
  for table in filter(ledgerTables, t => !contains(splitTables, t)): {
    parent: ledgerTableService
    name: table
  }
]

// An account per family in familyAccounts, holding that family's tables (same settings as the ledger's).
resource familyStorage 'Microsoft.Storage/storageAccounts@2023-05-01' = [
  for family in familyAccounts: {
    name: take('${compactPrefix}${take(family, 4)}${token}', 24)
    location: location
    sku: {
      name: 'Standard_LRS'
    }
    kind: 'StorageV2'
    properties: {
      minimumTlsVersion: 'TLS1_2'
      supportsHttpsTrafficOnly: true
      allowBlobPublicAccess: false
      allowSharedKeyAccess: false
      defaultToOAuthAuthentication: true
    }
  }
]

resource familyTableServices 'Microsoft.Storage/storageAccounts/tableServices@2023-05-01' = [
  for (family, i) in familyAccounts: {
    parent: familyStorage[i]
    name: 'default'
  }
]

resource familyTablesCreated 'Microsoft.Storage/storageAccounts/tableServices/tables@2023-05-01' = [
  for row in splitTableRows: {
    parent: familyTableServices[indexOf(familyAccounts, row.family)]
    name: row.table
  }
]

var familySettings = [
  for (family, i) in familyAccounts: {
    name: 'LEDGER_STORAGE_${toUpper(family)}'
    value: 'https://${familyStorage[i].name}.table.${environment().suffixes.storage}'
  }
]

resource ledgerBlobService 'Microsoft.Storage/storageAccounts/blobServices@2023-05-01' = {
  parent: ledgerStorage
  name: 'default'
}

resource deadLetterContainer 'Microsoft.Storage/storageAccounts/blobServices/containers@2023-05-01' = {
  parent: ledgerBlobService
  name: deadLetterContainerName
  properties: {
    publicAccess: 'None'
  }
}

// ---------------------------------------------------------------------------------------------
// Host storage: AzureWebJobsStorage (leases, keys) and the Flex Consumption deployment package.
// ---------------------------------------------------------------------------------------------
resource hostStorage 'Microsoft.Storage/storageAccounts@2023-05-01' = {
  name: hostStorageName
  location: location
  sku: {
    name: 'Standard_LRS'
  }
  kind: 'StorageV2'
  properties: {
    minimumTlsVersion: 'TLS1_2'
    supportsHttpsTrafficOnly: true
    allowBlobPublicAccess: false
    allowSharedKeyAccess: false
    defaultToOAuthAuthentication: true
  }
}

resource hostBlobService 'Microsoft.Storage/storageAccounts/blobServices@2023-05-01' = {
  parent: hostStorage
  name: 'default'
}

resource deploymentContainer 'Microsoft.Storage/storageAccounts/blobServices/containers@2023-05-01' = {
  parent: hostBlobService
  name: deploymentContainerName
  properties: {
    publicAccess: 'None'
  }
}

// ---------------------------------------------------------------------------------------------
// Monitoring: workspace-based Application Insights, ingesting only with Entra ID.
// ---------------------------------------------------------------------------------------------
resource logs 'Microsoft.OperationalInsights/workspaces@2023-09-01' = {
  name: '${namePrefix}-logs-${token}'
  location: location
  properties: {
    sku: {
      name: 'PerGB2018'
    }
    retentionInDays: 30
  }
}

resource appInsights 'Microsoft.Insights/components@2020-02-02' = {
  name: '${namePrefix}-appi-${token}'
  location: location
  kind: 'web'
  properties: {
    Application_Type: 'web'
    WorkspaceResourceId: logs.id
    DisableLocalAuth: true
  }
}

// Optional: new schema drift, or a rise in quarantines. The function logs each new drift path once per
// ledger ("schema drift: new data property path …", src/ledger/drift.ts) and each quarantined event
// ("quarantined …", src/handler.ts); this hourly query over two days of traces finds both.
resource driftAlert 'Microsoft.Insights/scheduledQueryRules@2021-08-01' = if (enableDriftAlert) {
  name: '${namePrefix}-drift-alert-${token}'
  location: location
  kind: 'LogAlert'
  properties: {
    displayName: 'ACS ledger: schema drift or more quarantines'
    description: 'A stored event carried a data property path no schema names (list them: acs-ledger drift), or quarantined events in an hour rose above ${quarantineAlertFloor} and 3 times their hourly average.'
    enabled: true
    severity: 3
    scopes: [
      appInsights.id
    ]
    evaluationFrequency: 'PT1H'
    windowSize: 'PT1H'
    overrideQueryTimeRange: 'P2D'
    criteria: {
      allOf: [
        {
          query: format('''
let recent = 1h;
let quarantines = traces | where message startswith "quarantined ";
let quarantinedNow = toscalar(quarantines | where timestamp > ago(recent) | count);
let hourlyBefore = toscalar(quarantines | where timestamp between (ago(2d) .. ago(recent)) | count) / 47.0;
traces
| where timestamp > ago(recent) and message startswith "schema drift: new data property path"
| project timestamp, reason = "new schema drift", message
| union (print timestamp = now(), reason = "more quarantines", message = strcat(quarantinedNow, " quarantined in the last hour, ", round(hourlyBefore, 1), " an hour before")
    | where quarantinedNow > {0} and quarantinedNow > 3 * hourlyBefore)
''', quarantineAlertFloor)
          timeAggregation: 'Count'
          operator: 'GreaterThan'
          threshold: 0
          failingPeriods: {
            numberOfEvaluationPeriods: 1
            minFailingPeriodsToAlert: 1
          }
        }
      ]
    }
    autoMitigate: false
    actions: {
      actionGroups: driftAlertActionGroupIds
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Function app: Flex Consumption, Linux, Node, system-assigned identity.
// ---------------------------------------------------------------------------------------------
resource plan 'Microsoft.Web/serverfarms@2024-04-01' = {
  name: '${namePrefix}-plan-${token}'
  location: location
  kind: 'functionapp'
  sku: {
    name: 'FC1'
    tier: 'FlexConsumption'
  }
  properties: {
    reserved: true
  }
}

resource functionApp 'Microsoft.Web/sites@2024-04-01' = {
  name: functionAppName
  location: location
  kind: 'functionapp,linux'
  identity: {
    type: 'SystemAssigned'
  }
  properties: {
    serverFarmId: plan.id
    httpsOnly: true
    siteConfig: {
      minTlsVersion: '1.2'
      // Flex Consumption rejects FUNCTIONS_WORKER_RUNTIME and FUNCTIONS_EXTENSION_VERSION here;
      // the runtime comes from functionAppConfig.runtime.
      appSettings: concat([
        {
          // Identity-based host storage: an account name, no connection string.
          name: 'AzureWebJobsStorage__accountName'
          value: hostStorage.name
        }
        {
          name: 'AzureWebJobsStorage__credential'
          value: 'managedidentity'
        }
        {
          // A table endpoint URL, not a connection string: the app uses DefaultAzureCredential.
          name: 'LEDGER_STORAGE'
          value: 'https://${ledgerStorage.name}.table.${environment().suffixes.storage}'
        }
        {
          // The connection string only locates the resource; ingestion is authorized with Entra ID.
          name: 'APPLICATIONINSIGHTS_CONNECTION_STRING'
          value: appInsights.properties.ConnectionString
        }
        {
          name: 'APPLICATIONINSIGHTS_AUTHENTICATION_STRING'
          value: 'Authorization=AAD'
        }
        {
          name: 'LEDGER_CHAT_STATE_FROM'
          value: chatStateFrom
        }
      ], familySettings)
    }
    functionAppConfig: {
      deployment: {
        storage: {
          type: 'blobContainer'
          value: '${hostStorage.properties.primaryEndpoints.blob}${deploymentContainerName}'
          authentication: {
            type: 'SystemAssignedIdentity'
          }
        }
      }
      scaleAndConcurrency: {
        maximumInstanceCount: maximumInstanceCount
        instanceMemoryMB: instanceMemoryMB
      }
      runtime: {
        name: 'node'
        version: nodeVersion
      }
    }
  }
  dependsOn: [
    deploymentContainer
  ]
}

// Optional App Service Authentication (Entra ID) in front of the read API and the viewer. Event
// Grid's deliveries carry the extension's system key and no user token, so their path is excluded.
resource functionAppAuth 'Microsoft.Web/sites/config@2024-04-01' = if (!empty(viewerAuthClientId)) {
  parent: functionApp
  name: 'authsettingsV2'
  properties: {
    platform: {
      enabled: true
    }
    globalValidation: {
      requireAuthentication: true
      unauthenticatedClientAction: 'RedirectToLoginPage'
      redirectToProvider: 'azureactivedirectory'
      excludedPaths: [
        '/runtime/webhooks/eventgrid'
      ]
    }
    httpSettings: {
      requireHttps: true
    }
    identityProviders: {
      azureActiveDirectory: {
        enabled: true
        registration: {
          openIdIssuer: '${environment().authentication.loginEndpoint}${viewerAuthTenantId}/v2.0'
          clientId: viewerAuthClientId
          clientSecretSettingName: 'MICROSOFT_PROVIDER_AUTHENTICATION_SECRET'
        }
        validation: {
          allowedAudiences: [
            'api://${viewerAuthClientId}'
          ]
        }
      }
    }
    login: {
      tokenStore: {
        enabled: true
      }
    }
  }
}

// The app may write ledger rows, and nothing else in the ledger account.
resource appLedgerTables 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(ledgerStorage.id, functionApp.id, roles.storageTableDataContributor)
  scope: ledgerStorage
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roles.storageTableDataContributor)
    principalId: functionApp.identity.principalId
    principalType: 'ServicePrincipal'
  }
}

resource appFamilyTables 'Microsoft.Authorization/roleAssignments@2022-04-01' = [
  for (family, i) in familyAccounts: {
    name: guid(familyStorage[i].id, functionApp.id, roles.storageTableDataContributor)
    scope: familyStorage[i]
    properties: {
      roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roles.storageTableDataContributor)
      principalId: functionApp.identity.principalId
      principalType: 'ServicePrincipal'
    }
  }
]

// The host keeps leases and keys in blobs, and Flex Consumption reads the package from blob storage.
resource appHostBlobs 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(hostStorage.id, functionApp.id, roles.storageBlobDataOwner)
  scope: hostStorage
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roles.storageBlobDataOwner)
    principalId: functionApp.identity.principalId
    principalType: 'ServicePrincipal'
  }
}

// Telemetry with Entra ID instead of the instrumentation key.
resource appTelemetry 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(appInsights.id, functionApp.id, roles.monitoringMetricsPublisher)
  scope: appInsights
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roles.monitoringMetricsPublisher)
    principalId: functionApp.identity.principalId
    principalType: 'ServicePrincipal'
  }
}

// ---------------------------------------------------------------------------------------------
// Event Grid system topic on the ACS resource, with an identity for dead-lettering.
// ---------------------------------------------------------------------------------------------
module systemTopic 'modules/system-topic.bicep' = {
  name: 'acs-ledger-system-topic'
  scope: resourceGroup(systemTopicResourceGroup)
  params: {
    name: systemTopicName
    acsResourceId: acsResourceId
  }
}

// The topic's identity writes dead letters to the container, and only there.
resource topicDeadLetters 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(deadLetterContainer.id, systemTopicResourceGroup, systemTopicName, roles.storageBlobDataContributor)
  scope: deadLetterContainer
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roles.storageBlobDataContributor)
    principalId: systemTopic.outputs.principalId
    principalType: 'ServicePrincipal'
  }
}

// Optional: a person or group who queries the ledger and replays dead letters.
resource operatorTables 'Microsoft.Authorization/roleAssignments@2022-04-01' = if (!empty(operatorPrincipalId)) {
  name: guid(ledgerStorage.id, operatorPrincipalId, roles.storageTableDataContributor)
  scope: ledgerStorage
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roles.storageTableDataContributor)
    principalId: operatorPrincipalId
  }
}

resource operatorFamilyTables 'Microsoft.Authorization/roleAssignments@2022-04-01' = [
  for (family, i) in familyAccounts: if (!empty(operatorPrincipalId)) {
    name: guid(familyStorage[i].id, operatorPrincipalId, roles.storageTableDataContributor)
    scope: familyStorage[i]
    properties: {
      roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roles.storageTableDataContributor)
      principalId: operatorPrincipalId
    }
  }
]

resource operatorBlobs 'Microsoft.Authorization/roleAssignments@2022-04-01' = if (!empty(operatorPrincipalId)) {
  name: guid(ledgerStorage.id, operatorPrincipalId, roles.storageBlobDataContributor)
  scope: ledgerStorage
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roles.storageBlobDataContributor)
    principalId: operatorPrincipalId
  }
}

output functionAppName string = functionApp.name
output functionAppId string = functionApp.id
output functionAppHostName string = functionApp.properties.defaultHostName
output ledgerStorageAccountName string = ledgerStorage.name
output ledgerStorageAccountId string = ledgerStorage.id
output ledgerTableEndpoint string = 'https://${ledgerStorage.name}.table.${environment().suffixes.storage}'
output ledgerTables array = ledgerTables
output familyTableEndpoints array = [for (family, i) in familyAccounts: { family: family, endpoint: 'https://${familyStorage[i].name}.table.${environment().suffixes.storage}' }]
output deadLetterContainerName string = deadLetterContainer.name
output hostStorageAccountName string = hostStorage.name
output appInsightsName string = appInsights.name
output systemTopicName string = systemTopicName
output systemTopicResourceGroup string = systemTopicResourceGroup
output systemTopicId string = systemTopic.outputs.id
